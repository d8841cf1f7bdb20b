# In-image microbenchmarks: linked into every image, run when booted with
# "sr.bench" (make bench: under -icount shift=0,sleep=off).
SR_SRCS += \
	tests/bench/bench_main.c \
	tests/bench/bench_sched.c \
	tests/bench/bench_qos.c \
	tests/bench/bench_uart.c \
	tests/bench/bench_runtime.c \
	tests/bench/bench_io.c \
	tests/bench/bench_forkjoin.c
# Actors (runtime/actor.c).
SR_SRCS += tests/bench/bench_actor.c
# Interrupt entry/exit (irqfp).
SR_SRCS += tests/bench/bench_irq.c
