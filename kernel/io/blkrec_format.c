/* Block-record format (see kernel/blkrec.h). Pure: builds for the host. */
#include <errno.h>
#include <string.h>
#include <kernel/blkrec.h>

uint32_t blkrec_crc32(uint32_t crc, const void *p, uint32_t n)
{
    const uint8_t *b = p;
    crc = ~crc;
    while (n--) {
        crc ^= *b++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static uint32_t record_crc(uint32_t seq, uint32_t len, const void *data)
{
    uint32_t head[2] = {seq, len};
    return blkrec_crc32(blkrec_crc32(0, head, sizeof(head)), data, len);
}

void blkrec_pack(void *buf, uint32_t seq, const void *data, uint32_t len)
{
    struct blkrec_hdr h = {BLKREC_MAGIC, seq, len, record_crc(seq, len, data)};
    memmove((char *)buf + BLKREC_HDR_SIZE, data, len);
    memcpy(buf, &h, sizeof(h));
}

int32_t blkrec_check(const void *buf, uint32_t avail, uint32_t seq)
{
    struct blkrec_hdr h;
    if (avail < BLKREC_HDR_SIZE)
        return -ENOENT;
    memcpy(&h, buf, sizeof(h));
    if (h.magic != BLKREC_MAGIC || h.seq != seq || h.len > BLKREC_MAX_LEN)
        return -ENOENT;
    if (h.len > avail - BLKREC_HDR_SIZE)
        return -EAGAIN;
    if (record_crc(seq, h.len, (const char *)buf + BLKREC_HDR_SIZE) != h.crc)
        return -ENOENT;
    return (int32_t)h.len;
}
