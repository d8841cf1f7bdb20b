/*
 * memset/memcpy/memmove for the image. Debian's picolibc is built for size:
 * its versions move one byte per loop iteration (about 5 instructions a
 * byte), which made every struct clear, TLS set-up and page-descriptor init
 * tens of times slower than it needs to be. These move 8 bytes per store
 * (the compiler pairs them into ldp/stp), relying on unaligned access to
 * Normal memory being allowed (SCTLR_EL1.A is 0); never use them on MMIO.
 */
#include <stddef.h>
#include <stdint.h>

/* Stop GCC from turning these loops back into calls to themselves. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

typedef uint64_t __attribute__((may_alias, aligned(1))) word_t;

/* Zero whole cache-line-sized blocks with DC ZVA (block size from
 * DCZID_EL0) from p up to below end; returns where it stopped. Needs Normal
 * memory (true for every memset here: the MMU is on before C runs). */
static unsigned char *zero_blocks(unsigned char *p, unsigned char *end)
{
    uint64_t dczid;
    __asm__("mrs %0, dczid_el0" : "=r"(dczid));
    if (dczid & 16)
        return p;   /* DC ZVA prohibited */
    uint64_t block = 4ull << (dczid & 15);
    unsigned char *b = (unsigned char *)(((uintptr_t)p + block - 1) & ~(block - 1));
    if (b + block > end)
        return p;
    for (; p < b; p++)
        *p = 0;
    for (; p + block <= end; p += block)
        __asm__ volatile("dc zva, %0" : : "r"(p) : "memory");
    return p;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *p = dst;
    uint64_t v = (uint8_t)c * 0x0101010101010101ull;
    if (c == 0 && n >= 128) {
        unsigned char *end = p + n;
        p = zero_blocks(p, end);
        n = (size_t)(end - p);
    }
    for (; n >= 32; n -= 32, p += 32) {
        ((word_t *)p)[0] = v;
        ((word_t *)p)[1] = v;
        ((word_t *)p)[2] = v;
        ((word_t *)p)[3] = v;
    }
    for (; n >= 8; n -= 8, p += 8)
        *(word_t *)p = v;
    while (n--)
        *p++ = (unsigned char)c;
    return dst;
}

static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    for (; n >= 32; n -= 32, d += 32, s += 32) {
        uint64_t a = ((const word_t *)s)[0], b = ((const word_t *)s)[1];
        uint64_t c = ((const word_t *)s)[2], e = ((const word_t *)s)[3];
        ((word_t *)d)[0] = a;
        ((word_t *)d)[1] = b;
        ((word_t *)d)[2] = c;
        ((word_t *)d)[3] = e;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(word_t *)d = *(const word_t *)s;
    while (n--)
        *d++ = *s++;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n) {
        copy_forward(d, s, n);   /* forward is safe: d is below s or clear of it */
        return dst;
    }
    d += n;
    s += n;
    for (; n >= 8; n -= 8) {
        d -= 8;
        s -= 8;
        *(word_t *)d = *(const word_t *)s;
    }
    while (n--)
        *--d = *--s;
    return dst;
}
