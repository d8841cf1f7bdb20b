/*
 * Task lifecycle: spawn, exit, join, detach, yield, sleep, fault kill.
 *
 * A task's stack is mm_stack memory with an unmapped guard page below; its
 * TLS block (picolibc's errno & co) sits at the top of the stack, and the
 * first (min) frame just below it, so a new task starts in
 * arch_task_entry(fn, arg) the first time it is switched to.
 * Exit/join handshake: a joiner registers under exit_lock (or, for a child
 * in its core's runnext slot, under that queue's lock) and blocks; the
 * exiting task marks itself DEAD (release), under exit_lock unless it
 * finds a joiner registered already, and hands the core to the joiner or
 * wakes it; a joiner that finds it DEAD, with or without the lock, waits
 * for its on_cpu to clear and returns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arch/backtrace.h>
#include <arch/exception.h>
#include <arch/frame.h>
#include <arch/timer.h>
#include <kernel/app.h>
#include <kernel/clock.h>
#include <kernel/console.h>
#include <kernel/libc.h>
#include <kernel/mutex.h>
#include <kernel/panic.h>
#include <kernel/sched.h>
#include <kernel/waitq.h>
#include "deadline.h"
#include "sched_switch.h"


static struct slab_cache *task_cache;
static size_t tls_size;   /* libc_tls_size(), fixed at link time */
static struct libc_tls_layout tls_layout;
/* Bytes past a TLS block's end that task_new leaves free below task_ext:
 * task_tls_zero_fixed may write zeroes there. */
#define TLS_SLACK 64
/* The layout the fast spawn relies on (it reads per-core copies of the
 * two offsets, struct percpu's spawn_tls_zero_off and spawn_ext_off, set
 * in task_system_init; ext_off 0 there when not tls_zero_fixed). tls_zero_fixed:
 * its TLS reset is TLS_SLACK bytes of zeroes at tls_zero_off (=
 * tls_layout.zero_off), set at boot when nothing is copied (.tdata empty)
 * and the zeroed part is at most TLS_SLACK bytes, so the stores end within
 * the block's slack. ext_off: task_ext(t) - t->tls, the same for every
 * task (a stack's top is page-aligned, and task_new places the TLS block
 * by it: it checks the identity for each object, and that t->tls is
 * 16-byte aligned, so the first frame lies right below it). */
static struct {
    uint32_t tls_zero_fixed;
    uint32_t tls_zero_off;
    uint32_t ext_off;
} spawn_layout;
#define tls_zero_fixed (spawn_layout.tls_zero_fixed)
static void task_cache_drain_cpu(void);
static void task_new_ext(struct task *t);
/* Detached tasks that ended, per core: freed by that core's idle loop. */
static struct task *zombies[PLAT_MAX_CPUS];

_Static_assert(sizeof(struct task) <= 192, "task control block stays within 192 bytes");

/* A task's first word (on_cpu to cpu, kernel/sched.h) as one value:
 * on_cpu 0, cancel 0, flags 0, and state, pinned, qos, life and cpu as
 * given. */
static inline __attribute__((always_inline)) uint64_t task_first_word(uint8_t state, uint8_t pinned,
                                                                      uint8_t qos, uint8_t life,
                                                                      uint8_t cpu)
{
    _Static_assert(offsetof(struct task, on_cpu) == 0 && offsetof(struct task, state) == 1 &&
                       offsetof(struct task, pinned) == 2 && offsetof(struct task, cancel) == 3 &&
                       offsetof(struct task, qos) == 4 && offsetof(struct task, flags) == 5 &&
                       offsetof(struct task, life) == 6 && offsetof(struct task, cpu) == 7 &&
                       __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                   "a task's first word, byte by byte");
    return (uint64_t)state << 8 | (uint64_t)pinned << 16 | (uint64_t)qos << 32 |
           (uint64_t)life << 48 | (uint64_t)cpu << 56;
}

void task_system_init(void)
{
    /* Task ids per core, no shared counter: core c hands out c + 1, then
     * steps of PLAT_MAX_CPUS (unique until one core has spawned 2^32 /
     * PLAT_MAX_CPUS tasks). Before the other cores start. */
    for (int c = 0; c < PLAT_MAX_CPUS; c++) {
        percpu[c].next_task_id = (uint32_t)c + 1;
        percpu[c].cpu_bit = 1u << c;
        percpu[c].spawn_word = task_first_word(TASK_READY, 1, 0, 0, (uint8_t)c);
    }
    tls_size = libc_tls_size();
    libc_tls_layout_get(&tls_layout);
    tls_zero_fixed = !tls_layout.tdata_size && tls_layout.zero_size <= TLS_SLACK;
    spawn_layout.tls_zero_off = tls_layout.zero_off;
    /* task_new's placement for a stack whose top is at a page boundary. */
    uint64_t top = ((uint64_t)PAGE_SIZE * 256 - sizeof(struct task_ext)) & ~15ull;
    uint64_t tp = ((top - tls_size - TLS_SLACK) & ~63ull) - tls_layout.tdata_off;
    spawn_layout.ext_off = (uint32_t)(top - tp);
    /* The fast spawn reads its layout at its percpu pointer (no address
     * of its own to form): ext_off 0 there turns it off. */
    for (int c = 0; c < PLAT_MAX_CPUS; c++) {
        percpu[c].spawn_tls_zero_off = spawn_layout.tls_zero_off;
        percpu[c].spawn_ext_off = tls_zero_fixed ? spawn_layout.ext_off : 0;
        percpu[c].spawn_entry = (uint64_t)arch_task_entry;
    }
    task_cache = slab_cache_create("task", sizeof(struct task), 64);
    if (!task_cache || mm_register_drain_hook(task_cache_drain_cpu) != 0)
        panic("task: cannot create the task cache");
    dl_init();
}

/* Each core keeps a few ended tasks of the default stack size whole (TCB
 * with its stack still mapped, TLS block and task_ext in place) for its
 * next spawns, in its struct percpu: no slab or stack work on the common
 * spawn/join path, and only what a task's life changed is reset
 * (task_renew). mm_drain_caches empties them (drain hook), so leak checks
 * still see every page. Touched only by its core, IRQs masked. */

static void task_release(struct task *t)
{
    mm_stack_free(&t->stack);
    slab_free(task_cache, t);
}

/* What a task with TASK_LIFE_APP or TASK_LIFE_HOOKS holds past its end. */
static __attribute__((noinline)) void task_free_extras(struct task *t)
{
    if (t->life & TASK_LIFE_APP)
        qos_leave_app(t);
    if (t->life & TASK_LIFE_HOOKS)
        dl_task_free(t);
}

/* Free an ended task whose on_cpu is clear, IRQs masked: into this core's
 * cache if it has the default stack and there is room, else for good. */
static inline __attribute__((always_inline)) void task_free_masked(struct task *t)
{
    if (__builtin_expect(t->life & (TASK_LIFE_APP | TASK_LIFE_HOOKS), 0))
        task_free_extras(t);
    struct percpu *p = this_cpu();   /* tasks exist only on cores that have theirs */
    if (t->stack.size == TASK_STACK_DEFAULT && p->ntasks_cached < PERCPU_TASK_CACHE) {
        p->tasks_cached[p->ntasks_cached++] = t;
        return;
    }
    task_release(t);
}

static void task_free(struct task *t)
{
    uint64_t flags = arch_irq_save();
    task_free_masked(t);
    arch_irq_restore(flags);
}

/* A cached task of the default stack size, or NULL. */
static inline __attribute__((always_inline)) struct task *task_cached(void)
{
    uint64_t flags = arch_irq_save();
    struct percpu *p = this_cpu();   /* after masking: this task stays on this core */
    uint32_t n = p->ntasks_cached;
    if (!n) {
        arch_irq_restore(flags);
        return NULL;
    }
    struct task *t = p->tasks_cached[--n];
    p->ntasks_cached = n;
    arch_irq_restore(flags);
    if (!t)
        __builtin_unreachable();   /* the cache holds tasks [0, n) */
    return t;
}

/* mm_drain_caches hook (IRQs masked): give this core's cached tasks back. */
static void task_cache_drain_cpu(void)
{
    struct percpu *p = this_cpu();
    while (p->ntasks_cached)
        task_release(p->tasks_cached[--p->ntasks_cached]);
}

/* A cached task starts afresh: what a task's life may change is reset; the
 * rest holds by the time it was freed (joined or reaped: DEAD, on_cpu 0,
 * exit_lock free, no mutex held, timer not queued, waiting_on NULL, TLS
 * block and task_ext where task_new put them, task_ext's dl NULL). The
 * cancel byte is cleared (task_renew, or the fast spawn's first word), so
 * the cancel_lock of an old cancellation point is never read. wait_seq
 * keeps counting: a stale timeout can never match a later wait. */
static inline __attribute__((always_inline)) void task_renew_tcb(struct task *t)
{
    t->joiner = NULL;
    t->cpu_ticks = 0;
    t->switches = 0;
    t->util = 0;
}

static inline void task_renew(struct task *t)
{
    atomic_store_explicit(&t->cancel, 0, memory_order_relaxed);
    task_renew_tcb(t);
    libc_tls_reset(t->tls, &tls_layout);
}

/* A task object of stack_size with its stack, TLS block and task_ext
 * placed, or NULL. */
static __attribute__((noinline)) struct task *task_new(size_t stack_size)
{
    struct task *t = slab_alloc(task_cache);
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    if (mm_stack_alloc(stack_size, &t->stack) != 0) {
        slab_free(task_cache, t);
        return NULL;
    }
    timer_init(&t->timer);
    t->exit_lock = (spinlock_t)SPINLOCK_INIT;
    /* The task's cold scheduling state at the very top of the stack, its
     * TLS block below, 64-byte aligned; TPIDR_EL0 points 16 bytes below the
     * block (the TCB slot), which the first frame leaves free. */
    uint64_t top = (uint64_t)task_ext(t);
    uint64_t tls = (top - tls_size - TLS_SLACK) & ~63ull;
    t->tls = libc_tls_block_init((void *)tls);
    if ((char *)t->tls + spawn_layout.ext_off != (char *)task_ext(t) || ((uint64_t)t->tls & 15))
        panic("task: TLS block of %p not where spawn_layout says", (void *)t);
    task_new_ext(t);
    return t;
}

/* A new object's task_ext: the fields no spawn writes (a life leaves them
 * as they were: the back pointer, dl NULL (dl_task_free), cancel_lock read
 * only inside a cancellation point, app_next only in an app's list, set
 * by qos_join_app) and, for a start, the rest. */
static void task_new_ext(struct task *t)
{
    *task_ext(t) = (struct task_ext){.task = t};
}

/* With tls_zero_fixed: reset the TLS block at tp (zero_off, spawn_layout's
 * tls_zero_off, .. its end)
 * with TLS_SLACK bytes of zeroes, a fixed run of stores instead of a loop
 * (the part past the block's end is task_new's slack, unused). */
static inline __attribute__((always_inline)) void task_tls_zero_fixed(void *tp, uint32_t zero_off)
{
    volatile __uint128_t *z = (volatile __uint128_t *)((char *)tp + zero_off);
    _Static_assert(TLS_SLACK == 4 * sizeof(__uint128_t), "four 16-byte stores");
    z[0] = 0;
    z[1] = 0;
    z[2] = 0;
    z[3] = 0;
}

/* t->name = name (not NULL), truncated to TASK_NAME_LEN - 1. A name
 * whose first 16 bytes lie in one page (nearly all) is copied as 16 bytes
 * at once: that page is mapped readable if its first byte is, and what
 * follows its NUL is copied too, harmlessly. */
static inline void task_set_name(struct task *t, const char *name)
{
    if (__builtin_expect(((uintptr_t)name & (PAGE_SIZE - 1)) <= PAGE_SIZE - TASK_NAME_LEN, 1)) {
        __builtin_memcpy(t->name, name, TASK_NAME_LEN);
        t->name[TASK_NAME_LEN - 1] = 0;
        return;
    }
    size_t i = 0;
    for (; i < TASK_NAME_LEN - 1 && name[i]; i++)
        t->name[i] = name[i];
    t->name[i] = 0;
}

/* A new task's id from core p's sequence (IRQs masked, p this core's). */
static inline uint32_t task_take_id(struct percpu *p)
{
    uint32_t id = p->next_task_id;
    p->next_task_id = id + PLAT_MAX_CPUS;
    return id;
}

/* A life's QoS and utilisation state, the first 64 bytes of its task_ext,
 * as eight words in four pairs of stores: sched_qos_init(&ext->qos, qos,
 * NULL, exempt) (own and eff qos, exempt, no app, nothing lent, waiting
 * for nobody: qos is valid), then the utilisation at its start (the
 * counter as the stamp, TASK_UTIL_STAMP_TICKS; average 0; util_ticks 0).
 * spawn.the_fast_spawn_starts_qos_and_utilisation_as_sched_qos_init_does
 * compares the two. */
static inline __attribute__((always_inline)) void task_ext_begin(struct task_ext *ext,
                                                                 enum qos qos, bool exempt)
{
    _Static_assert(offsetof(struct task_ext, qos) == 0 &&
                       offsetof(struct sched_qos_task, own) == 0 &&
                       offsetof(struct sched_qos_task, exempt) == 1 &&
                       offsetof(struct sched_qos_task, app) == 8 &&
                       offsetof(struct sched_qos_task, eff) == 16 &&
                       offsetof(struct sched_qos_task, lent) == 18 &&
                       offsetof(struct sched_qos_task, waits_for) == 32 &&
                       sizeof(struct sched_qos_task) == 40 &&
                       offsetof(struct task_ext, util.stamp_ns) == 40 &&
                       offsetof(struct task_ext, util.avg) == 48 &&
                       offsetof(struct task_ext, util.fine) == 52 &&
                       offsetof(struct task_ext, util_ticks) == 56,
                   "task_ext's first 64 bytes, word by word");
    typedef uint64_t __attribute__((may_alias)) word;
    word *w = (word *)ext;
    /* The counter first: its read is not between the stores, which GCC
     * then pairs (w[4], w[5]) like the others. */
    uint64_t stamp = arch_counter_relaxed() | TASK_UTIL_STAMP_TICKS;
    w[0] = (uint64_t)qos | (uint64_t)exempt << 8;
    w[1] = 0;
    w[2] = (uint64_t)qos;
    w[3] = 0;
    w[4] = 0;
    w[5] = stamp;
    w[6] = 0;
    w[7] = 0;
}

/* Everything a life starts with, in t (renewed or new) and its task_ext,
 * written in one pass, but for the task's first word (pinned, qos, life,
 * flags, cancel: the caller's, task_set_first_word on the fast way), of
 * which it adds TASK_LIFE_HOOKS to life, in the hooks' own branch. The
 * QoS part by sched_qos_init. The utilisation stamp is the
 * counter, converted to ns by its first update (TASK_UTIL_STAMP_TICKS).
 * The first frame, a min frame, sits just below the TCB slot (TPIDR_EL0)
 * under the TLS block: "return" into arch_task_entry, which pops fn and
 * arg (struct arch_first_frame). */
static inline __attribute__((always_inline)) void task_begin_life(struct task *t, task_fn fn,
                                                                  void *arg,
                                                                  const struct task_attr *attr,
                                                                  enum qos qos, const char *name,
                                                                  bool hooks, uint32_t affinity,
                                                                  uint32_t id, uint32_t ext_off,
                                                                  uint64_t entry)
{
    /* The attributes first (qos, name, hooks and affinity are the
     * caller's): the stores below may alias them. (The hooks are read in
     * their own, rare, branch: a load there costs nothing on the common
     * way.) */
    bool exempt = attr->qos_exempt;

    /* task_ext first: the attributes are dead after it (fewer live
     * registers: the fast spawn keeps no frame). */
    char *tp = t->tls;
    struct task_ext *ext = (struct task_ext *)(tp + ext_off);   /* task_ext(t) */
    /* ext in a register (no register + offset addressing): every store
     * below at ext plus a constant, which GCC pairs. */
    __asm__("" : "+r"(ext));
    task_ext_begin(ext, qos, exempt);
    ext->migrations = 0;
    if (__builtin_expect(hooks, 0)) {
        t->life |= TASK_LIFE_HOOKS;
        ext->on_end = attr->on_end;
        ext->on_end_arg = attr->on_end_arg;
    }

    struct arch_first_frame *frame = (struct arch_first_frame *)(tp - sizeof(*frame));
    frame->min.fp = 0;
    frame->min.lr = entry;   /* arch_task_entry */
    frame->fn = (uint64_t)fn;
    frame->arg = (uint64_t)arg;
    t->sp = (uint64_t)frame | TASK_SP_MIN_TAG;

    t->affinity = affinity;   /* with id: one pair */
    t->id = id;
    task_set_name(t, name);
}

/* The fast spawn's first word of t in one store: base, a
 * task_first_word with qos and life 0 (this core's spawn_word for a task
 * pinned here), with qos and life added. on_cpu 0 (it is, as the task
 * was freed), cancel 0 (task_renew's reset), flags 0 (a task of the fast
 * way is neither app nor deadline task). t is in no queue yet: nobody
 * else reads it. */
static inline __attribute__((always_inline)) void task_set_first_word(struct task *t, uint64_t base,
                                                                      uint8_t qos, uint8_t life)
{
    uint64_t w = base | task_first_word(0, 0, qos, life, 0);
    __builtin_memcpy(t, &w, sizeof(w));
}

/* task_spawn's general way: any attributes, a new object if the cache
 * has none. */
static __attribute__((noinline)) struct task *task_spawn_general(task_fn fn, void *arg,
                                                                 const struct task_attr *attr)
{
    static const struct task_attr defaults = {.name = "task", .qos = QOS_DEFAULT};
    if (!attr)
        attr = &defaults;
    size_t stack_size = attr->stack_size ? attr->stack_size : TASK_STACK_DEFAULT;
    enum qos qos = attr->qos;
    if (!fn || qos >= QOS_COUNT || stack_size < TASK_STACK_MIN) {
        errno = EINVAL;
        return NULL;
    }
    struct task *t = stack_size == TASK_STACK_DEFAULT ? task_cached() : NULL;
    if (t) {
        task_renew(t);
    } else if (!(t = task_new(stack_size))) {
        errno = ENOMEM;
        return NULL;
    }
    bool hooks = attr->on_end || attr->deadline;
    t->life = (uint8_t)((attr->detached ? TASK_LIFE_DETACHED : 0) |
                        (stack_size != TASK_STACK_DEFAULT ? TASK_LIFE_OWN_STACK : 0));
    uint64_t flags = arch_irq_save();
    uint32_t id = task_take_id(this_cpu());
    arch_irq_restore(flags);
    task_begin_life(t, fn, arg, attr, qos, attr->name ? attr->name : "task", hooks,
                    attr->affinity, id, spawn_layout.ext_off, (uint64_t)arch_task_entry);
    t->flags = 0;
    t->qos = task_ext(t)->qos.eff;   /* again once an app has its say */
    task_pin_note(t);
    if (attr->app)
        qos_join_app(t, attr->app, qos, attr->qos_exempt);
    t->qos = task_ext(t)->qos.eff;
    if (attr->deadline) {
        int err = dl_task_admit(t, attr->deadline);
        if (err) {
            task_free(t);
            errno = -err;
            return NULL;
        }
    }
    sched_start(t);
    return t;
}

/* The fast spawn from the cache pop on (IRQs masked, flags the caller's
 * state): t's life written, then queued. here: affinity is exactly this
 * core (online: it runs the spawner), the most common start, placement's
 * first rule: queued here by sched_start_here. Inline twice, once per
 * value of here, so that it is tested once. */
static inline __attribute__((always_inline)) struct task *
task_spawn_cached(struct task *t, struct percpu *p, uint64_t flags, task_fn fn, void *arg,
                  const struct task_attr *attr, enum qos qos, const char *name, bool hooks,
                  uint32_t affinity, uint32_t zero_off, uint32_t ext_off, uint64_t entry,
                  bool here)
{
    uint8_t life = attr->detached ? TASK_LIFE_DETACHED : 0;   /* begin_life adds HOOKS */
    uint64_t base = p->spawn_word;   /* READY, pinned, this cpu */
    if (!here && (!affinity || (affinity & (affinity - 1))))
        base &= ~task_first_word(0, 1, 0, 0, 0);   /* not pinned */
    task_set_first_word(t, base, (uint8_t)qos, life);
    task_renew_tcb(t);
    task_tls_zero_fixed(t->tls, zero_off);
    task_begin_life(t, fn, arg, attr, qos, name, hooks, affinity, task_take_id(p), ext_off,
                    entry);
    if (here)
        return sched_start_here(t, p->rq, flags);
    arch_irq_restore(flags);
    return sched_start(t);
}

/* The common spawn, a named task of the default stack size outside any
 * app and not a deadline task, from this core's cache, with no
 * thread-local initial values to copy and a zeroed TLS part that
 * tls_zero_fixed covers: no calls but the scheduler's.
 * Anything else takes task_spawn_general. */
struct task *task_spawn(task_fn fn, void *arg, const struct task_attr *attr)
{
    if (attr && fn) {
        /* The attributes as the four pairs of words they lie in (load
         * pairs); padding bytes are never read as values. */
        _Static_assert(offsetof(struct task_attr, name) == 0 &&
                           offsetof(struct task_attr, qos) == 8 &&
                           offsetof(struct task_attr, stack_size) == 16 &&
                           offsetof(struct task_attr, affinity) == 24 &&
                           offsetof(struct task_attr, detached) == 28 &&
                           offsetof(struct task_attr, app) == 32 &&
                           offsetof(struct task_attr, qos_exempt) == 40 &&
                           offsetof(struct task_attr, deadline) == 48 &&
                           offsetof(struct task_attr, on_end) == 56 &&
                           __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                       "struct task_attr's first 64 bytes, word by word");
        typedef uint64_t __attribute__((may_alias)) word;
        const word *w = (const word *)attr;
        uint64_t a[8] = {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]};
        const char *name = (const char *)a[0];
        enum qos qos = (enum qos)(uint32_t)a[1];
        uint32_t affinity = (uint32_t)a[3];
        /* Both layout offsets and the first frame's lr in one load
         * pair, from whichever core's copy (they are the same on every
         * core: this task may move before IRQs are masked). */
        _Static_assert(offsetof(struct percpu, spawn_ext_off) ==
                               offsetof(struct percpu, spawn_tls_zero_off) + 4 &&
                           offsetof(struct percpu, spawn_entry) ==
                               offsetof(struct percpu, spawn_tls_zero_off) + 8,
                       "the spawn layout and entry adjacent");
        struct { uint64_t layout, entry; } l;
        __builtin_memcpy(&l, &this_cpu()->spawn_tls_zero_off, sizeof(l));
        uint32_t zero_off = (uint32_t)l.layout, ext_off = (uint32_t)(l.layout >> 32);
        uint64_t entry = l.entry;
        /* stack_size, app, deadline; ext_off 0: no fixed TLS reset */
        if (name && !(a[2] | a[4] | a[6]) && ext_off) {
            bool hooks = a[7] != 0;   /* on_end */
            /* IRQs stay masked from the cache pop to the queueing; the
             * core's state is read after they are (the task stays on
             * this core from here on). */
            uint64_t flags = arch_irq_save();
            struct percpu *p = this_cpu();
            uint32_t n = p->ntasks_cached;
            if (qos < QOS_COUNT && n) {
                /* The slot past the last, then back one: one index. */
                struct task *t = (&p->tasks_cached[n])[-1];
                p->ntasks_cached = n - 1;
                if (affinity == p->cpu_bit)
                    return task_spawn_cached(t, p, flags, fn, arg, attr, qos, name, hooks,
                                             affinity, zero_off, ext_off, entry, true);
                return task_spawn_cached(t, p, flags, fn, arg, attr, qos, name, hooks,
                                         affinity, zero_off, ext_off, entry, false);
            }
            arch_irq_restore(flags);
        }
    }
    return task_spawn_general(fn, arg, attr);
}

/* A task with TASK_LIFE_HOOKS ends: its deadline reservation goes, its on_end
 * is told. */
static __attribute__((noinline)) void task_end_hooks(struct task *cur, enum task_status status,
                                                     int64_t value)
{
    struct task_ext *ext = task_ext(cur);
    if (ext->dl)
        dl_task_end(cur);
    if (ext->on_end)
        ext->on_end(ext->on_end_arg, status, value);
}

/* What an ending task with mutexes held or TASK_LIFE_HOOKS does first (out
 * of line: the common end makes no calls before its hand-off). */
static __attribute__((noinline)) void task_end_calls(struct task *cur, enum task_status status,
                                                     int64_t value)
{
    if (cur->held)
        mutex_release_all_held(cur);
    if (cur->life & TASK_LIFE_HOOKS)
        task_end_hooks(cur, status, value);
}

/* How the current task ended, under its exit_lock (taken here, left held):
 * value and status, then DEAD; a detached task goes to this core's reaper. */
static inline __attribute__((always_inline)) void mark_dead_locked(struct task *cur,
                                                                   enum task_status status,
                                                                   int64_t value)
{
    spin_lock(&cur->exit_lock);
    cur->value = value;
    cur->status = (uint8_t)status;
    /* Release: a joiner that reads DEAD without the lock sees the above. */
    __atomic_store_n(&cur->state, TASK_DEAD, __ATOMIC_RELEASE);
    if (cur->life & TASK_LIFE_DETACHED) {
        /* Freed by this core's idle loop once we are off this stack. */
        cur->next = zombies[cur->cpu];
        zombies[cur->cpu] = cur;
    }
}

/* The current task ends (IRQs masked): release its mutexes, record how it
 * ended, and hand it to its joiner, or to this core's reaper if detached.
 * The joiner is woken here, or with wake_joiner false returned unwoken for
 * the caller to run (sched_exit_to; nobody else wakes it); NULL if none. */
static inline __attribute__((always_inline)) struct task *mark_dead(struct task *cur,
                                                                 enum task_status status,
                                                                 int64_t value,
                                                                 bool wake_joiner)
{
    if (__builtin_expect(cur->held || (cur->life & TASK_LIFE_HOOKS), 0))
        task_end_calls(cur, status, value);
    mark_dead_locked(cur, status, value);
    struct task *joiner = cur->joiner;
    if (joiner && wake_joiner)
        sched_wake(joiner, WAIT_OK);
    spin_unlock(&cur->exit_lock);
    return joiner;
}

/* task_exit without a joiner: give up the core for good. (Typed as
 * task_exit_begin, though it never returns, so that the calls to it are
 * tail calls and task_exit_begin needs no frame.) */
static __attribute__((noinline)) struct sched_exit_switch exit_schedule(void)
{
    schedule();
    panic("task_exit: dead task %s was scheduled again", sched_current()->name);
}

/* task_exit_begin's way for a task with mutexes held or hooks. */
static __attribute__((noinline)) struct sched_exit_switch exit_general(struct task *cur,
                                                                       int64_t value)
{
    struct task *joiner = mark_dead(cur, TASK_EXITED, value, false);
    if (joiner)
        return sched_exit_to(cur, joiner);
    return exit_schedule();
}

/* task_exit_begin's way when no joiner had registered as it looked: DEAD
 * under the exit lock, then the joiner that registered meanwhile, if any,
 * or the reaper (detached) or nobody. Out of line: task_exit_begin stays
 * a leaf. */
static __attribute__((noinline)) struct sched_exit_switch exit_unjoined(struct task *cur,
                                                                        int64_t value)
{
    mark_dead_locked(cur, TASK_EXITED, value);
    struct task *joiner = cur->joiner;
    spin_unlock(&cur->exit_lock);
    if (joiner)
        return sched_exit_to(cur, joiner);
    return exit_schedule();
}

/* A leaf: every call on the way is a tail call; the hand-off to a
 * registered joiner inline (sched_exit_to_inline). */
__attribute__((flatten)) struct sched_exit_switch task_exit_begin(int64_t value)
{
    arch_irq_disable();
    struct task *cur = sched_current();
    /* mark_dead, its calls out of line (exit_general). */
    if (__builtin_expect(cur->held || (cur->life & TASK_LIFE_HOOKS), 0))
        return exit_general(cur, value);
    /* A joiner once registered stays, and has read this task's state for
     * the last time (it is woken by this exit only): DEAD needs no lock
     * then. (A joined task is not detached: no reaper.) sched_exit_to
     * waits for the exit_lock it registered under, if it must wake it.
     * Nor a release: only that joiner reads value and status, in
     * task_join_end after its acquire of on_cpu, which the last switch
     * clears with release after these stores. (A plain read of the
     * joiner, a relaxed one in effect: an aligned pointer load; GCC's
     * relaxed atomic load computes the address first.) */
    struct task *joiner = *(struct task *volatile *)&cur->joiner;
    if (__builtin_expect(!joiner, 0))
        return exit_unjoined(cur, value);
    cur->value = value;
    cur->status = TASK_EXITED;
    *(volatile uint8_t *)&cur->state = TASK_DEAD;
    return sched_exit_to_inline(cur, joiner);
}

_Noreturn void task_exit(int64_t value)
{
    struct sched_exit_switch s = task_exit_begin(value);
    arch_switch_final(s.prev, s.next_sp);
}

void task_reap(void)
{
    struct task *z;
    /* Only this core adds to its list, from task context: an empty list
     * read here stays empty until this core runs a task again. */
    if (!__atomic_load_n(&zombies[cpu_id()], __ATOMIC_RELAXED))
        return;
    uint64_t flags = arch_irq_save();
    z = zombies[cpu_id()];
    zombies[cpu_id()] = NULL;
    arch_irq_restore(flags);
    while (z) {
        struct task *next = z->next;
        /* Wait until its last switch-out has saved everything. */
        while (atomic_load_explicit(&z->on_cpu, memory_order_acquire))
            arch_cpu_relax();
        task_free(z);
        z = next;
    }
}

void task_join_wait(struct task *t)
{
    /* Register under exit_lock, which sched_block releases once this task
     * is BLOCKED, so the exit cannot miss it. */
    spin_lock(&t->exit_lock);
    if (t->state != TASK_DEAD) {
        /* Read by an exit that does not take the lock (task_exit_begin). */
        __atomic_store_n(&t->joiner, sched_current(), __ATOMIC_RELAXED);
        sched_block(&t->exit_lock, 0);
        /* t has ended. Its exit's hand-off (sched_exit_to) leaves this
         * wait's result WAIT_PENDING (a wake stored WAIT_OK): a task that
         * runs has no wait pending. */
        sched_current()->wait_result = WAIT_OK;
    } else {
        spin_unlock(&t->exit_lock);
    }
}

/* task_join_end's general way: t may still be switching out on another
 * core, or goes back other than into this core's cache. */
static __attribute__((noinline)) enum task_status join_end_general(struct task *t,
                                                                   int64_t *value,
                                                                   uint64_t flags)
{
    /* Its registers must be saved before its stack goes away (its exit
     * clears on_cpu with release after everything it wrote). Still
     * switching out on another core: wait with IRQs as the caller had
     * them. */
    if (atomic_load_explicit(&t->on_cpu, memory_order_acquire)) {
        arch_irq_restore(flags);
        while (atomic_load_explicit(&t->on_cpu, memory_order_acquire))
            arch_cpu_relax();
        arch_irq_disable();
    }
    enum task_status st = (enum task_status)t->status;
    if (value)
        *value = t->value;   /* 0 if it faulted (mark_dead) */
    task_free_masked(t);
    arch_irq_restore(flags);
    return st;
}

/* The common end, a leaf: t off its core already, no extras, the default
 * stack (TASK_LIFE_OWN_STACK clear: the life bits are tested at once), back
 * into this core's cache (task_free_masked's first way). */
enum task_status task_join_end(struct task *t, int64_t *value, uint64_t flags)
{
    struct percpu *p = this_cpu();
    uint32_t n = p->ntasks_cached;
    if (__builtin_expect(atomic_load_explicit(&t->on_cpu, memory_order_acquire) ||
                         (t->life & (TASK_LIFE_APP | TASK_LIFE_HOOKS | TASK_LIFE_OWN_STACK)) ||
                         n >= PERCPU_TASK_CACHE, 0))
        return join_end_general(t, value, flags);
    enum task_status st = (enum task_status)t->status;
    if (value)
        *value = t->value;   /* 0 if it faulted (mark_dead) */
    p->tasks_cached[n] = t;
    p->ntasks_cached = n + 1;
    arch_irq_restore(flags);
    return st;
}

void task_detach(struct task *t)
{
    uint64_t flags = spin_lock_irqsave(&t->exit_lock);
    bool dead = t->state == TASK_DEAD;
    t->life |= TASK_LIFE_DETACHED;
    spin_unlock_irqrestore(&t->exit_lock, flags);
    if (dead) {
        while (atomic_load_explicit(&t->on_cpu, memory_order_acquire))
            arch_cpu_relax();
        task_free(t);
    }
}


void task_sleep_until(uint64_t deadline_ns)
{
    uint64_t flags = arch_irq_save();
    if (deadline_ns > clock_ns())
        sched_block(NULL, deadline_ns);
    arch_irq_restore(flags);
}

void task_sleep_ns(uint64_t ns)
{
    /* +1: the deadline is reached only once ns have fully elapsed. */
    task_sleep_until(clock_ns() + ns + 1);
}

struct task *task_current(void) { return sched_current(); }

/* A cancellation point's lock stays valid while t's exit_lock is held:
 * t leaves the point (clearing POINT) only under its exit_lock, after it
 * has released the point's lock. Lock order: exit_lock, then the point's. */
static void cancel_point_wake(struct task *t)
{
    uint64_t flags = spin_lock_irqsave(&t->exit_lock);
    if (atomic_load(&t->cancel) & TASK_CANCEL_POINT) {
        spinlock_t *lock = task_ext(t)->cancel_lock;
        spin_lock(lock);
        /* Blocked in the point's wait, not yet woken by it: end it. */
        if (t->state == TASK_BLOCKED && t->wait_result == WAIT_PENDING)
            sched_wake(t, WAIT_CANCELLED);
        spin_unlock(lock);
    }
    spin_unlock_irqrestore(&t->exit_lock, flags);
}

void task_cancel(struct task *t)
{
    atomic_fetch_or(&t->cancel, TASK_CANCEL_REQUESTED);   /* see task_cancel_point_enter */
    waitq_cancel(t);
    cancel_point_wake(t);
}

void task_cancel_point_enter(spinlock_t *lock)
{
    struct task *cur = sched_current();
    task_ext(cur)->cancel_lock = lock;
    /* Both flags live in one atomic byte: of this RMW and task_cancel's,
     * the later sees the other's bit, and by coherence so do the task's
     * later task_cancelled() reads. */
    atomic_fetch_or(&cur->cancel, TASK_CANCEL_POINT);
}

void task_cancel_point_leave(void)
{
    struct task *cur = sched_current();
    uint64_t flags = spin_lock_irqsave(&cur->exit_lock);
    atomic_fetch_and(&cur->cancel, (uint8_t)~TASK_CANCEL_POINT);
    task_ext(cur)->cancel_lock = NULL;
    spin_unlock_irqrestore(&cur->exit_lock, flags);
}

bool task_cancelled(void)
{
    return atomic_load_explicit(&sched_current()->cancel, memory_order_relaxed) & TASK_CANCEL_REQUESTED;
}

void task_set_affinity(struct task *t, uint32_t affinity)
{
    __atomic_store_n(&t->affinity, affinity, __ATOMIC_RELAXED);
    task_pin_note(t);
    /* To the wake-ups (the local wake key, place_woken) pinned means "stays
     * on its core": a task pinned to another core than the one it is on (a
     * blocked one, say) is not pinned until a wake or a move puts it there
     * (sched_move_in). A stale clear only costs a wake the policy's way. */
    if (t->pinned && !(affinity & (1u << t->cpu)))
        t->pinned = 0;
    sched_affinity_changed(t);
}
int task_set_qos(struct task *t, enum qos qos)
{
    if (!t || (unsigned)qos >= QOS_COUNT)
        return -EINVAL;
    qos_set_own(t, qos);
    return 0;
}

const char *task_name(const struct task *t) { return t->name; }
enum qos task_qos(const struct task *t) { return (enum qos)t->qos; }
int task_cpu(const struct task *t) { return t->cpu; }

void task_get_stats(const struct task *t, struct task_stats *out)
{
    /* A racy view of a running task: its core's current stretch. */
    const struct runqueue *rq = &runqueues[t->cpu];
    uint64_t start = rq->run_start;
    uint64_t running = (t->state == TASK_RUNNING && rq->current == t) ? arch_counter() - start : 0;
    out->cpu_ns = arch_ticks_to_ns(t->cpu_ticks + running);
    out->switches = t->switches;
    out->migrations = (t->flags & TASK_F_IDLE) ? 0 : task_ext(t)->migrations;
}

/*
 * The current task took a fault nothing expected: report it, release its
 * mutexes (their next owners see WAIT_OWNER_DIED), wake its joiner with
 * TASK_FAULTED, and resume something else in its place.
 */
bool sched_kill_current(struct arch_frame *f, const char *why)
{
    struct runqueue *rq = this_rq();
    struct task *cur = rq->current;
    if (!cur || (cur->flags & TASK_F_IDLE))
        return false;
    console_flush();
    printf("SR: task \"%s\" (id %u) killed on cpu %d: %s\n", cur->name, (unsigned)cur->id,
           cpu_id(), why);
    if (mm_is_stack_guard(f->far))
        printf("  stack overflow: FAR 0x%llx is the guard page below its stack [0x%llx, 0x%llx)\n",
               (unsigned long long)f->far, (unsigned long long)cur->stack.base,
               (unsigned long long)(cur->stack.base + cur->stack.size));
    arch_exception_report(f, EXC_FROM_EL1T * 4 + EXC_SYNC);

    mark_dead(cur, TASK_FAULTED, 0, true);
    sched_switch_from_dead(f);
    return true;
}

void sched_kill_current_no_room(struct arch_frame *f, uint64_t frame_bytes)
{
    struct task *cur = sched_current();
    console_flush();
    printf("SR: task \"%s\" (id %u) killed on cpu %d: stack overflow: %llu bytes left above "
           "its guard page at SP 0x%llx, its preemption frame needs %llu\n",
           cur->name, (unsigned)cur->id, cpu_id(), (unsigned long long)(f->sp - cur->stack.base),
           (unsigned long long)f->sp, (unsigned long long)frame_bytes);
    printf("  backtrace (link addresses; sr.elf has the same):\n");
    arch_backtrace_print(f->elr, f->x[30], f->x[29], f->sp);
    mark_dead(cur, TASK_FAULTED, 0, true);
    sched_switch_from_dead(f);
}
