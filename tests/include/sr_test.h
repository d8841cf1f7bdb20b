/*
 * SR test descriptors, shared by the host unit tests and the in-image suites.
 *
 * TEST(suite, name) { ... } defines a test and drops a descriptor into the
 * "sr_tests" linker section; a runner walks __start_sr_tests..__stop_sr_tests.
 * Checks never abort the test: each failing EXPECT_* records file:line and a
 * message, and the test is reported "not ok" with the first failure.
 *
 * Output contract (read by scripts/run_tests.py):
 *   ok N suite.name
 *   not ok N suite.name # file:line: message
 *   tests: P passed, F failed
 */
#ifndef SR_TEST_H
#define SR_TEST_H

#include <stdint.h>

#define TEST_F_ALL_CORES  (1u << 0)  /* run on every online core at once (image only) */

struct test_case {
    const char *suite;
    const char *name;
    const char *file;
    int line;
    unsigned flags;
    void (*fn)(void);
};

#define TEST_DEFINE_(suite, name, flags_)                                          \
    static void test_##suite##__##name(void);                                     \
    static const struct test_case test_case_##suite##__##name                     \
        __attribute__((used, section("sr_tests"), aligned(8))) = {                \
            #suite, #name, __FILE__, __LINE__, (flags_), test_##suite##__##name}; \
    static void test_##suite##__##name(void)

#define TEST(suite, name)           TEST_DEFINE_(suite, name, 0)
#define TEST_ALL_CORES(suite, name) TEST_DEFINE_(suite, name, TEST_F_ALL_CORES)

/* Records a failure of the running test (on the calling core). */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define EXPECT_TRUE(c)                                                            \
    do {                                                                          \
        if (!(c))                                                                 \
            test_fail(__FILE__, __LINE__, "expected %s", #c);                     \
    } while (0)

#define EXPECT_CMP_(a, op, b)                                                     \
    do {                                                                          \
        unsigned long long a_ = (unsigned long long)(a);                          \
        unsigned long long b_ = (unsigned long long)(b);                          \
        if (!(a_ op b_))                                                          \
            test_fail(__FILE__, __LINE__, "expected %s %s %s (0x%llx vs 0x%llx)", \
                      #a, #op, #b, a_, b_);                                       \
    } while (0)

#define EXPECT_EQ(a, b) EXPECT_CMP_(a, ==, b)
#define EXPECT_NE(a, b) EXPECT_CMP_(a, !=, b)
#define EXPECT_LT(a, b) EXPECT_CMP_(a, <, b)
#define EXPECT_LE(a, b) EXPECT_CMP_(a, <=, b)
#define EXPECT_GT(a, b) EXPECT_CMP_(a, >, b)
#define EXPECT_GE(a, b) EXPECT_CMP_(a, >=, b)

#define EXPECT_STREQ(a, b)                                                        \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        if (!a_ || !b_ || __builtin_strcmp(a_, b_) != 0)                          \
            test_fail(__FILE__, __LINE__, "expected %s == %s (\"%s\" vs \"%s\")", \
                      #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");            \
    } while (0)

#endif
