/* Split virtqueue, driver side (see virtq.h). Pure: builds for the host. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "virtq.h"

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static size_t used_offset(uint16_t size, size_t align)
{
    return align_up(sizeof(struct virtq_desc) * size + 6 + 2u * size, align);
}

size_t virtq_ring_bytes(uint16_t size, size_t align)
{
    return used_offset(size, align) + 6 + sizeof(struct virtq_used_elem) * size;
}

int virtq_init(struct virtq *vq, void *ring, uint16_t size, size_t align)
{
    memset(vq, 0, sizeof(*vq));
    if (size == 0 || size > 32768 || (size & (size - 1)) || align < 4 || (align & (align - 1)))
        return -EINVAL;
    vq->size = size;
    vq->desc = ring;
    vq->avail = (struct virtq_avail *)((char *)ring + sizeof(struct virtq_desc) * size);
    vq->used = (struct virtq_used *)((char *)ring + used_offset(size, align));
    vq->link = calloc(size, sizeof(*vq->link));
    vq->cookie = calloc(size, sizeof(*vq->cookie));
    vq->in_len = calloc(size, sizeof(*vq->in_len));
    vq->chain_len = calloc(size, sizeof(*vq->chain_len));
    if (!vq->link || !vq->cookie || !vq->in_len || !vq->chain_len) {
        virtq_destroy(vq);
        return -ENOMEM;
    }
    for (uint16_t i = 0; i < size; i++)
        vq->link[i] = (uint16_t)(i + 1);
    vq->nfree = size;
    vq->free_head = 0;
    return 0;
}

void virtq_destroy(struct virtq *vq)
{
    free(vq->link);
    free(vq->cookie);
    free(vq->in_len);
    free(vq->chain_len);
    vq->link = NULL;
    vq->cookie = NULL;
    vq->in_len = NULL;
    vq->chain_len = NULL;
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, int nbufs, void *cookie)
{
    if (vq->broken)
        return -EIO;
    if (nbufs < 1 || nbufs > vq->size || !cookie)
        return -EINVAL;
    if (vq->nfree < nbufs)
        return -ENOSPC;
    uint32_t writable = 0;
    bool seen_in = false;
    for (int i = 0; i < nbufs; i++) {
        if (bufs[i].device_writes)
            seen_in = true;
        else if (seen_in)
            return -EINVAL;   /* device-readable buffers come first */
        if (bufs[i].len == 0 || (bufs[i].device_writes && writable + bufs[i].len < writable))
            return -EINVAL;
        if (bufs[i].device_writes)
            writable += bufs[i].len;
    }
    uint16_t head = vq->free_head, d = head;
    for (int i = 0; i < nbufs; i++) {
        struct virtq_desc *desc = &vq->desc[d];
        desc->addr = bufs[i].addr;
        desc->len = bufs[i].len;
        desc->flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
                                 (i + 1 < nbufs ? VIRTQ_DESC_F_NEXT : 0));
        desc->next = i + 1 < nbufs ? vq->link[d] : 0;
        d = vq->link[d];
    }
    vq->free_head = d;
    vq->nfree = (uint16_t)(vq->nfree - nbufs);
    vq->cookie[head] = cookie;
    vq->in_len[head] = writable;
    vq->chain_len[head] = (uint16_t)nbufs;
    vq->nchains++;
    vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
    vq->avail_idx++;
    /* The descriptors and ring entry before the index the device reads. */
    __atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
    return head;
}

bool virtq_need_notify(const struct virtq *vq)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* avail->idx before used->flags */
    return !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) & VIRTQ_USED_F_NO_NOTIFY);
}

/* Return the chain starting at head to the free list (private links only). */
static void reclaim(struct virtq *vq, uint16_t head)
{
    uint16_t n = vq->chain_len[head], last = head;
    for (uint16_t i = 1; i < n; i++)
        last = vq->link[last];
    vq->link[last] = vq->free_head;
    vq->free_head = head;
    vq->nfree = (uint16_t)(vq->nfree + n);
    vq->cookie[head] = NULL;
    vq->chain_len[head] = 0;
    vq->nchains--;
}

int virtq_get(struct virtq *vq, void **cookie, uint32_t *len, bool *len_ok)
{
    if (vq->broken)
        return VIRTQ_BROKEN;
    uint16_t used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
    uint16_t ready = (uint16_t)(used_idx - vq->last_used);
    if (ready == 0)
        return 0;
    if (ready > vq->nchains) {
        vq->broken = true;   /* more completions than requests in flight */
        vq->bad_id++;
        return VIRTQ_BROKEN;
    }
    const volatile struct virtq_used_elem *e = &vq->used->ring[vq->last_used & (vq->size - 1)];
    uint32_t id = e->id, n = e->len;   /* read once: the device may change them */
    if (id >= vq->size || !vq->cookie[id]) {
        vq->broken = true;   /* unknown chain or a duplicate completion */
        vq->bad_id++;
        return VIRTQ_BROKEN;
    }
    vq->last_used++;
    *cookie = vq->cookie[id];
    *len = n;
    *len_ok = n <= vq->in_len[id];
    if (!*len_ok)
        vq->bad_len++;
    reclaim(vq, (uint16_t)id);
    vq->completed++;
    return 1;
}

void virtq_drain(struct virtq *vq, void (*fn)(void *cookie, void *arg), void *arg)
{
    for (uint16_t id = 0; id < vq->size; id++) {
        void *c = vq->cookie[id];
        if (!c)
            continue;
        reclaim(vq, id);
        fn(c, arg);
    }
    /* The device was reset: it forgot the rings, start them afresh. */
    vq->last_used = 0;
    vq->avail_idx = 0;
    vq->avail->idx = 0;
    vq->avail->flags = 0;
    vq->used->idx = 0;
    vq->used->flags = 0;
    vq->broken = false;
}
