# runtime/: the application API (headers in runtime/include/sr/): the
# waiter/waker layer, stackless async tasks, channels, select, and fork-join
# on work-stealing deques.
SR_INCLUDES += runtime/include
SR_SRCS += \
	runtime/wait_list.c \
	runtime/wait_task.c \
	runtime/async.c \
	runtime/select.c \
	runtime/chan.c \
	runtime/chan_spsc.c \
	runtime/deque.c \
	runtime/forkjoin.c
# Actors with supervision (sr/actor.h) and their mailboxes (sr/mailbox.h).
SR_SRCS += runtime/actor.c runtime/mailbox.c
HOST_TEST_SRCS += tests/host/test_restart_window.c
# Structured concurrency scopes (sr/scope.h).
SR_SRCS += runtime/scope.c
# Pure parts (wait lists, rings, select fairness, the deque) for the host tests.
HOST_INCLUDES += runtime/include
HOST_LDFLAGS += -pthread
HOST_TEST_SRCS += \
	tests/host/test_wait_list.c \
	tests/host/test_ring.c \
	tests/host/test_mpmc_ring.c \
	tests/host/test_mpmc_watch.c \
	tests/host/test_chan_rx.c \
	tests/host/test_mpsc_ring.c \
	runtime/wait_list.c \
	tests/host/test_deque.c \
	runtime/deque.c
HOST_TEST_SRCS += tests/host/test_scope_policy.c
