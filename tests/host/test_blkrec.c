/* kernel/io/blkrec_format.c: CRC-32, record packing and validation. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/blkrec.h>

#include "host_test.h"

TEST(blkrec, crc32_matches_the_standard_check_value)
{
    EXPECT_EQ(blkrec_crc32(0, "123456789", 9), 0xCBF43926u);
    EXPECT_EQ(blkrec_crc32(0, "", 0), 0);
    /* Continuation equals one pass. */
    EXPECT_EQ(blkrec_crc32(blkrec_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}

TEST(blkrec, pack_check_round_trip_and_rejections)
{
    uint8_t data[1000], buf[2048];
    for (int i = 0; i < 1000; i++)
        data[i] = (uint8_t)(i * 7);
    memset(buf, 0, sizeof(buf));
    blkrec_pack(buf, 3, data, sizeof(data));
    EXPECT_EQ(blkrec_check(buf, sizeof(buf), 3), 1000);
    EXPECT_TRUE(memcmp(buf + BLKREC_HDR_SIZE, data, 1000) == 0);
    EXPECT_EQ(blkrec_check(buf, sizeof(buf), 4), -ENOENT);        /* wrong sequence */
    EXPECT_EQ(blkrec_check(buf, 512, 3), -EAGAIN);                /* read more */
    EXPECT_EQ(blkrec_check(buf, 8, 3), -ENOENT);
    for (int i = 0; i < (int)(BLKREC_HDR_SIZE + 1000); i += 37) {
        buf[i] ^= 0x10;                                           /* any flipped bit */
        EXPECT_TRUE(blkrec_check(buf, sizeof(buf), 3) < 0);
        buf[i] ^= 0x10;
    }
    EXPECT_EQ(blkrec_check(buf, sizeof(buf), 3), 1000);
    memset(buf, 0, sizeof(buf));
    EXPECT_EQ(blkrec_check(buf, sizeof(buf), 1), -ENOENT);        /* a fresh disk */
    struct blkrec_hdr h = {BLKREC_MAGIC, 1, BLKREC_MAX_LEN + 1, 0};
    memcpy(buf, &h, sizeof(h));
    EXPECT_EQ(blkrec_check(buf, sizeof(buf), 1), -ENOENT);        /* absurd length */
    blkrec_pack(buf, 1, data, 0);
    EXPECT_EQ(blkrec_check(buf, BLKREC_HDR_SIZE, 1), 0);          /* empty payload */
    EXPECT_EQ(blkrec_blocks(0, 512), 1);
    EXPECT_EQ(blkrec_blocks(512 - BLKREC_HDR_SIZE, 512), 1);
    EXPECT_EQ(blkrec_blocks(512 - BLKREC_HDR_SIZE + 1, 512), 2);
}

/* Random payloads with random corruption: a corrupted record is never
 * accepted with the wrong contents. */
TEST(blkrec, fuzz_corruption_never_accepted)
{
    srand(777);
    static uint8_t data[4096], buf[4096 + BLKREC_HDR_SIZE];
    for (int round = 0; round < 3000; round++) {
        uint32_t len = (uint32_t)(rand() % 4096);
        for (uint32_t i = 0; i < len; i++)
            data[i] = (uint8_t)rand();
        uint32_t seq = 1 + (uint32_t)(rand() % 100);
        blkrec_pack(buf, seq, data, len);
        int flips = rand() % 3;
        for (int f = 0; f < flips; f++)
            buf[rand() % (len + BLKREC_HDR_SIZE)] ^= (uint8_t)(1u << (rand() % 8));
        int32_t rc = blkrec_check(buf, len + BLKREC_HDR_SIZE, seq);
        if (rc >= 0) {
            EXPECT_EQ((uint32_t)rc, len);
            EXPECT_TRUE(memcmp(buf + BLKREC_HDR_SIZE, data, len) == 0);
        }
    }
}
