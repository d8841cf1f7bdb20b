/* Scope policy (sr/scope_policy.h): classification of a child's end, which
 * ends are errors, the wait code, cancel causes going down, deadlines. */
#include <errno.h>
#include <sr/scope_policy.h>
#include <sr_test.h>

TEST(scope_policy, classify_every_kind_of_end)
{
    EXPECT_EQ(scope_classify(SCOPE_NOT_CANCELLED, false, 0), SCOPE_EXITED);
    EXPECT_EQ(scope_classify(SCOPE_BY_CANCEL, false, 7), SCOPE_EXITED);   /* ignored the cancel */
    EXPECT_EQ(scope_classify(SCOPE_NOT_CANCELLED, false, -EIO), SCOPE_FAILED);
    EXPECT_EQ(scope_classify(SCOPE_BY_ERROR, false, -EPIPE), SCOPE_FAILED);
    EXPECT_EQ(scope_classify(SCOPE_BY_CANCEL, false, -ECANCELED), SCOPE_CANCELLED);
    EXPECT_EQ(scope_classify(SCOPE_BY_ERROR, false, -ECANCELED), SCOPE_CANCELLED);
    EXPECT_EQ(scope_classify(SCOPE_BY_DEADLINE, false, -ECANCELED), SCOPE_TIMED_OUT);
    EXPECT_EQ(scope_classify(SCOPE_NOT_CANCELLED, false, -ETIMEDOUT), SCOPE_TIMED_OUT);
    EXPECT_EQ(scope_classify(SCOPE_NOT_CANCELLED, true, 0), SCOPE_FAULTED);
    EXPECT_EQ(scope_classify(SCOPE_BY_CANCEL, true, -ECANCELED), SCOPE_FAULTED);
}

TEST(scope_policy, errors_are_failures_faults_and_own_timeouts)
{
    EXPECT_TRUE(scope_is_error(SCOPE_NOT_CANCELLED, SCOPE_FAILED, -EIO));
    EXPECT_TRUE(scope_is_error(SCOPE_BY_ERROR, SCOPE_FAILED, -EPIPE));
    EXPECT_TRUE(scope_is_error(SCOPE_NOT_CANCELLED, SCOPE_FAULTED, 0));
    EXPECT_TRUE(scope_is_error(SCOPE_NOT_CANCELLED, SCOPE_TIMED_OUT, -ETIMEDOUT));
    EXPECT_TRUE(!scope_is_error(SCOPE_BY_DEADLINE, SCOPE_TIMED_OUT, -ETIMEDOUT));
    EXPECT_TRUE(!scope_is_error(SCOPE_BY_DEADLINE, SCOPE_TIMED_OUT, -ECANCELED));
    EXPECT_TRUE(!scope_is_error(SCOPE_BY_CANCEL, SCOPE_CANCELLED, -ECANCELED));
    EXPECT_TRUE(!scope_is_error(SCOPE_NOT_CANCELLED, SCOPE_EXITED, 3));
}

TEST(scope_policy, wait_code_and_causes_down)
{
    EXPECT_EQ(scope_wait_code(false, SCOPE_RUNNING, 0, SCOPE_NOT_CANCELLED), 0);
    EXPECT_EQ(scope_wait_code(false, SCOPE_RUNNING, 0, SCOPE_BY_CANCEL), -ECANCELED);
    EXPECT_EQ(scope_wait_code(false, SCOPE_RUNNING, 0, SCOPE_BY_DEADLINE), -ETIMEDOUT);
    EXPECT_EQ(scope_wait_code(true, SCOPE_FAILED, -EIO, SCOPE_BY_ERROR), -EIO);
    EXPECT_EQ(scope_wait_code(true, SCOPE_FAULTED, 0, SCOPE_BY_ERROR), -EFAULT);
    EXPECT_EQ(scope_wait_code(true, SCOPE_TIMED_OUT, -ETIMEDOUT, SCOPE_NOT_CANCELLED), -ETIMEDOUT);
    EXPECT_EQ(scope_cause_down(SCOPE_BY_DEADLINE), SCOPE_BY_DEADLINE);
    EXPECT_EQ(scope_cause_down(SCOPE_BY_ERROR), SCOPE_BY_CANCEL);
    EXPECT_EQ(scope_cause_down(SCOPE_BY_CANCEL), SCOPE_BY_CANCEL);
}

TEST(scope_policy, deadline_is_the_earliest_given)
{
    EXPECT_EQ(scope_deadline(0, 0, 100, 0), 0);
    EXPECT_EQ(scope_deadline(500, 0, 100, 0), 500);
    EXPECT_EQ(scope_deadline(0, 50, 100, 0), 150);
    EXPECT_EQ(scope_deadline(500, 50, 100, 0), 150);
    EXPECT_EQ(scope_deadline(120, 50, 100, 0), 120);
    EXPECT_EQ(scope_deadline(0, 0, 100, 300), 300);       /* inherited */
    EXPECT_EQ(scope_deadline(500, 0, 100, 300), 300);     /* the parent's is earlier */
    EXPECT_EQ(scope_deadline(200, 0, 100, 300), 200);     /* its own is earlier */
    EXPECT_EQ(scope_deadline(0, 1000, 100, 300), 300);
}
