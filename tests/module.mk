# tests/: host unit tests (tests/host) and in-image suites (tests/image).
SR_INCLUDES += tests/include
HOST_INCLUDES += tests/include kernel/include
include tests/host/module.mk
include tests/image/module.mk
include tests/bench/module.mk
