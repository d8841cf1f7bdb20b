/* Per-task utilisation: a decaying average (see kernel/sched_policy.h). */
#include <kernel/sched_policy.h>

/* 2^(-i/64) in Q16. */
static const uint32_t pow2_neg64[64] = {
    65536, 64830, 64132, 63441, 62757, 62081, 61413, 60751,
    60097, 59449, 58809, 58176, 57549, 56929, 56316, 55709,
    55109, 54515, 53928, 53347, 52773, 52204, 51642, 51085,
    50535, 49991, 49452, 48920, 48393, 47871, 47356, 46846,
    46341, 45842, 45348, 44859, 44376, 43898, 43425, 42958,
    42495, 42037, 41584, 41136, 40693, 40255, 39821, 39392,
    38968, 38548, 38133, 37722, 37316, 36914, 36516, 36123,
    35734, 35349, 34968, 34591, 34219, 33850, 33486, 33125,
};

/* 2^(-dt / halflife) in Q32: whole 1/64 steps from the table, the rest
 * linearly (1 - x ln 2; the error is below 1e-4 for x < 1/64). */
static uint64_t decay_q32(uint64_t dt)
{
    const uint64_t h = SCHED_UTIL_HALFLIFE_NS;
    uint64_t halves = dt / h;
    if (halves >= 27)
        return 0;
    uint64_t rem = dt % h;
    uint64_t step = rem * 64 / h;
    uint64_t frac = rem - step * h / 64;                       /* < h / 64 */
    uint64_t lin = (1ull << 32) - (frac * 2977044472ull + h / 2) / h; /* 2^32 ln 2 */
    return ((pow2_neg64[step] * lin) >> 16) >> halves;
}

void sched_util_update(struct sched_util *u, uint64_t now_ns, uint32_t running_capacity)
{
    if (now_ns <= u->stamp_ns)
        return;
    uint64_t f = decay_q32(now_ns - u->stamp_ns);
    u->stamp_ns = now_ns;
    uint32_t cap = running_capacity > SCHED_CAPACITY_MAX ? SCHED_CAPACITY_MAX : running_capacity;
    int64_t target = (int64_t)cap << 16;
    /* fine' = target + (fine - target) * f; 2^26 x 2^32 fits. */
    int64_t diff = (int64_t)u->fine - target;
    const uint64_t half = 1ull << 31;
    int64_t kept = diff >= 0 ? (int64_t)(((uint64_t)diff * f + half) >> 32)
                             : -(int64_t)(((uint64_t)-diff * f + half) >> 32);
    u->fine = (uint32_t)(target + kept);
    u->avg = (u->fine + 0x8000) >> 16;
}
