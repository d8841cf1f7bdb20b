# runtime/: the application API. Stackless async tasks, channels, select,
# and the waiter/waker layer they share (headers in runtime/include/sr/).
SR_INCLUDES += runtime/include
SR_SRCS += \
	runtime/wait_list.c \
	runtime/wait_task.c \
	runtime/async.c \
	runtime/select.c \
	runtime/chan.c \
	runtime/chan_spsc.c
# Pure parts (wait lists, rings, select fairness) for the host tests.
HOST_INCLUDES += runtime/include
HOST_TEST_SRCS += \
	tests/host/test_wait_list.c \
	tests/host/test_ring.c \
	runtime/wait_list.c
