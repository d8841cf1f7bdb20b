/*
 * Block records: a small append-only log of records on a region of a block
 * device, for data that must survive a reboot. Each record starts on a
 * block boundary with a header (magic, sequence number, length, CRC-32 of
 * header and payload) followed by its payload, over as many blocks as it
 * needs. Opening the log scans from the start of the region: the records
 * are the run of consecutive valid ones (sequence 1, 2, ...); the first
 * block that does not hold the next valid header ends the log, so a record
 * torn by a crash is simply not there. An append writes the record and a
 * zeroed block after it in one request (so stale records of an erased log
 * can never extend the chain), then flushes.
 *
 * The format (blkrec_pack / blkrec_check) is pure and host-tested; the log
 * itself does blocking I/O through io_sync (kernel/io.h).
 */
#ifndef KERNEL_BLKREC_H
#define KERNEL_BLKREC_H

#include <stdint.h>

#define BLKREC_MAGIC     0x43455253u   /* "SREC" */
#define BLKREC_HDR_SIZE  16u
#define BLKREC_MAX_LEN   (64u * 1024)

struct blkrec_hdr {
    uint32_t magic;
    uint32_t seq;          /* 1 for the first record, +1 each */
    uint32_t len;          /* payload bytes */
    uint32_t crc;          /* CRC-32 of seq, len and the payload */
};

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of n bytes, continuing crc. */
uint32_t blkrec_crc32(uint32_t crc, const void *p, uint32_t n);
/* Lay out record seq with payload data[0..len) at the start of buf (header,
 * then payload). buf must hold BLKREC_HDR_SIZE + len bytes. */
void blkrec_pack(void *buf, uint32_t seq, const void *data, uint32_t len);
/* Does buf (avail bytes read from the device) start with record seq? The
 * payload length (>= 0), -EAGAIN if the header is valid but the payload
 * runs past avail (read more), or -ENOENT (not a valid record: end of log). */
int32_t blkrec_check(const void *buf, uint32_t avail, uint32_t seq);
/* Blocks a record of len payload bytes occupies. */
static inline uint64_t blkrec_blocks(uint32_t len, uint32_t block_size)
{
    return ((uint64_t)len + BLKREC_HDR_SIZE + block_size - 1) / block_size;
}

struct io_dev;
struct blkrec_log {
    struct io_dev *dev;
    uint64_t base, end;    /* byte range of the region, block aligned */
    uint64_t next;         /* byte offset where the next record goes */
    uint32_t count;        /* records found + appended */
    uint64_t offsets[64];  /* where the first records start (index lookups) */
};

/* Open the log in [base, base + size) of dev: scan the records there.
 * 0, -EINVAL (bad region), or an I/O error. */
int blkrec_open(struct blkrec_log *log, struct io_dev *dev, uint64_t base, uint64_t size);
/* Append a record (len <= BLKREC_MAX_LEN) and flush. 0, -ENOSPC (region
 * full), -EINVAL, or an I/O error; on error the log is unchanged. */
int blkrec_append(struct blkrec_log *log, const void *data, uint32_t len);
/* Copy record index's payload (at most cap bytes) into buf: its length,
 * -ENOENT (no such record), -EMSGSIZE (cap too small) or an I/O error. */
int32_t blkrec_read(struct blkrec_log *log, uint32_t index, void *buf, uint32_t cap);
/* Forget every record (invalidates the first block). */
int blkrec_erase(struct blkrec_log *log);

#endif
