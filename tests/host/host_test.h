/*
 * Host unit-test support (tests/host only): fixture files and a few checks
 * beyond sr_test.h. Fixtures are the DTBs that tests/host/module.mk compiles
 * into build/host/fixtures (or the directory given as the runner's argv[1]).
 */
#ifndef HOST_TEST_H
#define HOST_TEST_H

#include <stddef.h>
#include <string.h>

#include <sr_test.h>

/* "<fixture dir>/<name>", in a static buffer valid until the next call. */
const char *host_fixture_path(const char *name);

/*
 * Reads a fixture into a malloc'd buffer of exactly its size (so ASan sees
 * any read past the end). On failure records a test failure and returns NULL.
 */
void *host_fixture_load(const char *name, size_t *size);

/*
 * A fixture DTB opened for editing with libfdt's read-write calls, in a
 * malloc'd buffer with `room` spare bytes. NULL (and a failure) when missing.
 */
void *host_fixture_edit(const char *name, size_t room);

/*
 * size bytes at an 8-byte aligned address (libfdt's requirement) between two
 * inaccessible pages, ending at most 7 bytes before the upper one: code that
 * ASan does not instrument (libfdt itself) faults on reads outside too.
 * Aborts when the mapping fails. Release with host_guarded_free().
 */
void *host_guarded_alloc(size_t size);
void host_guarded_free(void *p, size_t size);

#define EXPECT_CONTAINS(hay, needle)                                               \
    do {                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                    \
        if (!h_ || !strstr(h_, n_))                                                \
            test_fail(__FILE__, __LINE__, "expected \"%s\" to contain \"%s\"",    \
                      h_ ? h_ : "(null)", n_);                                     \
    } while (0)

#endif
