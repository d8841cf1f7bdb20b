/* Fault containment and libc from tasks. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/clock.h>
#include <kernel/mm.h>
#include <kernel/percpu.h>
#include <kernel/sched.h>
#include <kernel/smp.h>
#include <kernel/task.h>
#include <sr_test.h>
#include "image_test.h"

static __attribute__((noinline)) uint64_t recurse(uint64_t n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    return n ? recurse(n - 1) + pad[0] : 0;
}

static int64_t overflow_stack(void *arg)
{
    (void)arg;
    return (int64_t)recurse(1u << 20);
}

static int64_t null_deref(void *arg)
{
    (void)arg;
    return *(volatile int64_t *)opaque_ptr(0);
}

static _Atomic int survivors;
static int64_t survive(void *arg)
{
    (void)arg;
    task_sleep_ns(2 * 1000 * 1000);
    atomic_fetch_add(&survivors, 1);
    return 7;
}

TEST(fault, stack_overflow_kills_only_that_task)
{
    atomic_store(&survivors, 0);
    struct task *others[4];
    for (int i = 0; i < 4; i++)
        others[i] = task_spawn(survive, NULL, NULL);
    struct task_attr attr = {.name = "overflow", .stack_size = 8192};
    struct task *t = task_spawn(overflow_stack, NULL, &attr);
    int64_t v = -1;
    EXPECT_EQ(task_join(t, &v), TASK_FAULTED);
    EXPECT_EQ(v, 0);
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(task_join(others[i], &v), TASK_EXITED);
        EXPECT_EQ(v, 7);
    }
    EXPECT_EQ(atomic_load(&survivors), 4);
}

/* A task spinning with less stack left than its preemption frame needs
 * (816 bytes) is preempted: it is killed as a stack overflow, the task that
 * preempted it runs, the system goes on (saving the frame would have
 * faulted inside the interrupt). */
#define DEEP_KEEP 320   /* bytes left above the guard page, about */
static _Atomic bool deep_spinning;
static int64_t spin_near_the_guard(void *arg)
{
    (void)arg;
    struct task *self = task_current();
    uint64_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    volatile char *low = __builtin_alloca(sp - self->stack.base - DEEP_KEEP);
    low[0] = 1;
    atomic_store(&deep_spinning, true);
    for (;;)
        __asm__ volatile("" ::: "memory");
    return 0;
}

static int64_t return_five(void *arg)
{
    (void)arg;
    return 5;
}

TEST(fault, a_task_preempted_without_room_for_its_frame_is_killed_alone)
{
    int x = platform.ncpus - 1;
    while (x > 0 && (!smp_cpu_online(x) || x == cpu_id()))
        x--;
    atomic_store(&deep_spinning, false);
    struct task_attr da = {.name = "deep", .stack_size = 4096, .affinity = 1u << x};
    struct task *d = task_spawn(spin_near_the_guard, NULL, &da);
    while (!atomic_load(&deep_spinning))
        task_sleep_ns(100 * 1000);
    struct task_attr ua = {.name = "preempter", .qos = QOS_USER_INTERACTIVE, .affinity = 1u << x};
    struct task *u = task_spawn(return_five, NULL, &ua);
    int64_t v = -1;
    EXPECT_EQ(task_join(u, &v), TASK_EXITED);
    EXPECT_EQ(v, 5);
    EXPECT_EQ(task_join(d, &v), TASK_FAULTED);
    EXPECT_EQ(v, 0);
}

TEST(fault, null_dereference_kills_only_that_task_on_every_core)
{
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c))
            continue;
        struct task_attr attr = {.name = "nullptr", .affinity = 1u << c};
        struct task *t = task_spawn(null_deref, NULL, &attr);
        EXPECT_EQ(task_join(t, NULL), TASK_FAULTED);
    }
    /* Every core still schedules. */
    for (int c = 0; c < platform.ncpus; c++) {
        if (!smp_cpu_online(c))
            continue;
        struct task_attr attr = {.name = "after", .affinity = 1u << c};
        int64_t v = 0;
        EXPECT_EQ(task_join(task_spawn(survive, NULL, &attr), &v), TASK_EXITED);
        EXPECT_EQ(v, 7);
    }
}

/* libc from many tasks: errno isolated per task, printf and malloc correct. */
static int64_t libc_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    errno = 5000 + id;
    char buf[48];
    for (int i = 0; i < 20; i++) {
        size_t sz = 16 + (size_t)((id * 37 + i * 11) % 500);
        unsigned char *p = malloc(sz);
        if (!p)
            return -1;
        memset(p, id & 0xff, sz);
        task_yield();
        for (size_t k = 0; k < sz; k++)
            if (p[k] != (id & 0xff))
                return -2;
        free(p);
        snprintf(buf, sizeof(buf), "task %d round %d", id, i);
        if (strcmp(buf + 5, "") == 0)
            return -3;
    }
    if (errno != 5000 + id)
        return -4;
    printf("libc task %d done on cpu %d\n", id, cpu_id());
    return 0;
}

TEST(libc, errno_malloc_printf_isolated_across_tasks)
{
    enum { N = 24 };
    struct task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = task_spawn(libc_worker, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < N; i++) {
        int64_t v = 1;
        EXPECT_EQ(task_join(t[i], &v), TASK_EXITED);
        EXPECT_EQ(v, 0);
    }
}
