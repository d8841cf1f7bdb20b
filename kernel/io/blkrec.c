/* The block-record log over a block device (see kernel/blkrec.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/blkrec.h>
#include <kernel/io.h>

static int32_t rw(struct blkrec_log *log, enum io_op op, uint64_t pos, void *buf, uint32_t len)
{
    struct io_req r;
    io_req_init(&r, op, QOS_UTILITY, pos, buf, len);
    int32_t rc = io_sync(log->dev, &r, WAIT_FOREVER);
    return rc < 0 ? rc : rc == (int32_t)len ? 0 : -EIO;
}

/* Read the record at pos (sequence seq) into a malloc'd buffer of whole
 * blocks: its payload length, or -ENOENT at the end of the log. */
static int32_t load(struct blkrec_log *log, uint64_t pos, uint32_t seq, uint8_t **out)
{
    uint32_t bs = log->dev->block_size;
    uint32_t n = bs;
    for (;;) {
        if (pos + n > log->end)
            return -ENOENT;
        uint8_t *buf = malloc(n);
        if (!buf)
            return -ENOMEM;
        int32_t rc = rw(log, IO_OP_READ, pos, buf, n);
        if (rc == 0)
            rc = blkrec_check(buf, n, seq);
        if (rc == -EAGAIN) {
            struct blkrec_hdr h;
            memcpy(&h, buf, sizeof(h));
            free(buf);
            n = (uint32_t)(blkrec_blocks(h.len, bs) * bs);
            continue;
        }
        if (rc < 0) {
            free(buf);
            return rc;
        }
        *out = buf;
        return rc;
    }
}

int blkrec_open(struct blkrec_log *log, struct io_dev *dev, uint64_t base, uint64_t size)
{
    memset(log, 0, sizeof(*log));
    if (!dev || dev->cls != IO_DEV_BLK || !dev->block_size || base % dev->block_size ||
        size % dev->block_size || size < dev->block_size || base > dev->capacity ||
        size > dev->capacity - base)
        return -EINVAL;
    log->dev = dev;
    log->base = log->next = base;
    log->end = base + size;
    for (;;) {
        uint8_t *buf;
        int32_t len = load(log, log->next, log->count + 1, &buf);
        if (len == -ENOENT)
            return 0;
        if (len < 0)
            return len;
        free(buf);
        if (log->count < 64)
            log->offsets[log->count] = log->next;
        log->count++;
        log->next += blkrec_blocks((uint32_t)len, dev->block_size) * dev->block_size;
    }
}

int blkrec_append(struct blkrec_log *log, const void *data, uint32_t len)
{
    if (!log->dev || len > BLKREC_MAX_LEN || (len && !data))
        return -EINVAL;
    uint32_t bs = log->dev->block_size;
    uint64_t bytes = blkrec_blocks(len, bs) * bs;
    if (bytes > log->end - log->next)
        return -ENOSPC;
    /* The block after the record must not hold a stale record with the next
     * sequence number (left by an erased log): clear it with this write. */
    bool clear_next = log->next + bytes + bs <= log->end;
    uint64_t total = bytes + (clear_next ? bs : 0);
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return -ENOMEM;
    blkrec_pack(buf, log->count + 1, data, len);
    int32_t rc = rw(log, IO_OP_WRITE, log->next, buf, (uint32_t)total);
    free(buf);
    if (rc == 0)
        rc = rw(log, IO_OP_FLUSH, 0, NULL, 0);
    if (rc < 0)
        return rc;
    if (log->count < 64)
        log->offsets[log->count] = log->next;
    log->count++;
    log->next += bytes;
    return 0;
}

int32_t blkrec_read(struct blkrec_log *log, uint32_t index, void *buf, uint32_t cap)
{
    if (!log->dev || index >= log->count)
        return -ENOENT;
    uint64_t pos = log->base;
    if (index < 64) {
        pos = log->offsets[index];
    } else {
        for (uint32_t i = 0; i < index; i++) {
            uint8_t *b;
            int32_t len = load(log, pos, i + 1, &b);
            if (len < 0)
                return len;
            free(b);
            pos += blkrec_blocks((uint32_t)len, log->dev->block_size) * log->dev->block_size;
        }
    }
    uint8_t *b;
    int32_t len = load(log, pos, index + 1, &b);
    if (len < 0)
        return len == -ENOENT ? -EIO : len;   /* it was there: the disk changed under us */
    if ((uint32_t)len > cap) {
        free(b);
        return -EMSGSIZE;
    }
    memcpy(buf, b + BLKREC_HDR_SIZE, (uint32_t)len);
    free(b);
    return len;
}

int blkrec_erase(struct blkrec_log *log)
{
    if (!log->dev)
        return -EINVAL;
    uint32_t bs = log->dev->block_size;
    uint8_t *zero = calloc(1, bs);
    if (!zero)
        return -ENOMEM;
    int32_t rc = rw(log, IO_OP_WRITE, log->base, zero, bs);
    free(zero);
    if (rc == 0)
        rc = rw(log, IO_OP_FLUSH, 0, NULL, 0);
    if (rc < 0)
        return rc;
    log->count = 0;
    log->next = log->base;
    return 0;
}
