/* Spawn from the per-core task cache: a reused task object starts as a new
 * one would (TLS, cancel flag, counters, name, class), names are copied. */
#include <errno.h>
#include <string.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/task.h>
#include <sr_test.h>

static __thread int tls_counter;   /* zero at every task's start */

struct life {
    int errno_at_start, tls_at_start;
    bool cancelled_at_start;
    struct task_stats stats;
    char name[TASK_NAME_LEN];
    enum qos qos;
};

/* Records how the task found itself, then dirties what a life may change. */
static int64_t live(void *arg)
{
    struct life *l = arg;
    l->errno_at_start = errno;
    l->tls_at_start = tls_counter;
    l->cancelled_at_start = task_cancelled();
    task_get_stats(task_current(), &l->stats);
    strcpy(l->name, task_name(task_current()));
    l->qos = task_qos(task_current());
    errno = 77;
    tls_counter = 5;
    task_cancel(task_current());
    task_yield();
    return 0;
}

TEST(spawn, reused_task_starts_afresh)
{
    struct task_attr a = {.name = "first", .qos = QOS_UTILITY, .affinity = 1u << cpu_id()};
    struct task_attr b = {.name = "second", .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    struct life la = {0}, lb = {0};
    mm_drain_caches();   /* this core's task cache is empty: ta will be kept */
    struct task *ta = task_spawn(live, &la, &a);
    EXPECT_TRUE(ta != NULL);
    EXPECT_EQ(task_join(ta, NULL), TASK_EXITED);
    /* Joined on this core with the default stack: the next spawn here takes
     * the same object from this core's cache. */
    struct task *tb = task_spawn(live, &lb, &b);
    EXPECT_TRUE(tb == ta);
    EXPECT_EQ(task_join(tb, NULL), TASK_EXITED);
    for (int i = 0; i < 2; i++) {
        struct life *l = i ? &lb : &la;
        EXPECT_EQ(l->errno_at_start, 0);
        EXPECT_EQ(l->tls_at_start, 0);
        EXPECT_TRUE(!l->cancelled_at_start);
        EXPECT_EQ(l->stats.switches, 1u);
        EXPECT_EQ(l->stats.migrations, 0u);
    }
    EXPECT_STREQ(la.name, "first");
    EXPECT_STREQ(lb.name, "second");
    EXPECT_EQ(la.qos, QOS_UTILITY);
    EXPECT_EQ(lb.qos, QOS_DEFAULT);
}

static int64_t idle_task(void *arg)
{
    (void)arg;
    return 0;
}

static void expect_name(const char *given, const char *expected)
{
    struct task_attr a = {.name = given, .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(idle_task, NULL, &a);
    EXPECT_TRUE(t != NULL);
    EXPECT_STREQ(task_name(t), expected);
    task_join(t, NULL);
}

TEST(spawn, names_are_copied_and_truncated)
{
    expect_name("x", "x");
    expect_name("exactly15chars.", "exactly15chars.");
    expect_name("a literal longer than fifteen", "a literal longe");
    expect_name(NULL, "task");
    /* A name in the caller's memory: copied, so changing it later does not
     * rename the task. */
    char buf[40];
    strcpy(buf, "stack-name-that-is-long");
    struct task_attr a = {.name = buf, .qos = QOS_DEFAULT, .affinity = 1u << cpu_id()};
    struct task *t = task_spawn(idle_task, NULL, &a);
    EXPECT_TRUE(t != NULL);
    memset(buf, 'z', sizeof(buf) - 1);
    EXPECT_STREQ(task_name(t), "stack-name-that");
    task_join(t, NULL);
    strcpy(buf, "short");
    expect_name(buf, "short");
}
