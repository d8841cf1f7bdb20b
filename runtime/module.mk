# runtime/: the application API (tasks, channels, async) lands here.

# Fork-join on work-stealing deques (sr/forkjoin.h, sr/deque.h).
SR_INCLUDES += runtime/include
SR_SRCS += \
	runtime/deque.c \
	runtime/forkjoin.c
