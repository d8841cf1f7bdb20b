/*
 * Host tests of sr/mpmc_ring.h: a ring and its slots on the heap, aligned
 * as the image's allocator aligns them.
 */
#ifndef TESTS_HOST_MPMC_FIXTURE_H
#define TESTS_HOST_MPMC_FIXTURE_H

#include <stdlib.h>
#include <sr/mpmc_ring.h>

static inline struct mpmc_ring *ring_new(uint32_t cap, uint32_t elem)
{
    struct mpmc_ring *r = aligned_alloc(64, sizeof(*r));
    void *mem = aligned_alloc(64, (mpmc_ring_bytes(cap, elem) + 63) & ~(size_t)63);
    mpmc_ring_init(r, mem, cap, elem);
    return r;
}

static inline void ring_free(struct mpmc_ring *r)
{
    free(r->slots);
    free(r);
}

#endif
