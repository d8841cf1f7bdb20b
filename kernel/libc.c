/*
 * picolibc glue: stdin/stdout/stderr on the console, _exit, and a TLS block
 * per boot context (errno and the rest of picolibc's thread-local state are
 * per core until tasks own their own blocks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arch/boot.h>
#include <kernel/console.h>
#include <kernel/libc.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>

static int console_file_put(char c, FILE *f)
{
    (void)f;
    console_putc(c);
    return (unsigned char)c;
}

static int console_file_get(FILE *f)
{
    (void)f;
    return console_getc();
}

static FILE console_file = FDEV_SETUP_STREAM(console_file_put, console_file_get, NULL, _FDEV_SETUP_RW);
FILE *const stdin = &console_file;
FILE *const stdout = &console_file;
FILE *const stderr = &console_file;

/* picolibc's abort() raises SIGABRT through POSIX calls SR does not have. */
void abort(void)
{
    panic("abort() called");
}

/* libfdt is built with the stack protector. */
uintptr_t __stack_chk_guard = 0x5352c0ffee5352ull;
void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
    panic("stack smashing detected");
}

void _exit(int code)
{
    system_exit(code);
}

/*
 * TLS blocks (AArch64 variant 1: TPIDR_EL0 points at a 16-byte TCB that the
 * block follows). SR provides _init_tls/_set_tls itself: picolibc's reach the
 * template sizes through GOT entries that the static-PIE link relocates as if
 * they were addresses, which breaks as soon as the image is loaded elsewhere.
 */
extern char __tdata_source[], __tdata_size[], __tbss_offset[], __tbss_size[];
extern char __tbss_zero_offset[];
extern char __tls_size[], __tls_align[], __arm64_tls_tcb_offset[];

/* Zero n bytes at p, both 16-byte aligned, in 64- then 16-byte steps
 * (volatile: not turned back into a memset call, whose set-up costs more
 * than the stores for the few hundred bytes of a TLS block). */
static void zero_aligned16(char *p, uint64_t n)
{
    uint64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        volatile __uint128_t *w = (volatile __uint128_t *)(p + i);
        w[0] = 0;
        w[1] = 0;
        w[2] = 0;
        w[3] = 0;
    }
    for (; i < n; i += 16)
        *(volatile __uint128_t *)(p + i) = 0;
}

/* Runs for every task spawned: .tbss (errno, the task's console line and
 * a few runtime variables) is zeroed in place, and an empty .tdata copies
 * nothing. */
void _init_tls(void *tls);
void _init_tls(void *tls)
{
    uint64_t tdata = link_constant(__tdata_size), tbss = link_constant(__tbss_size);
    uint64_t off = link_constant(__tbss_offset);
    char *bss = (char *)tls + off;
    if (tdata)
        memcpy(tls, __tdata_source, tdata);
    if (!(((uint64_t)bss | tbss) & 15))
        zero_aligned16(bss, tbss);
    else
        memset(bss, 0, tbss);
}

void _set_tls(void *tls);
void _set_tls(void *tls)
{
    __asm__ volatile("msr tpidr_el0, %0" : : "r"((char *)tls - link_constant(__arm64_tls_tcb_offset)));
}

#define TLS_BLOCK_MAX 512
static char boot_tls[PLAT_MAX_CPUS + 1][TLS_BLOCK_MAX] __attribute__((aligned(64)));

void libc_init_cpu_tls(int slot)
{
    char *block = boot_tls[slot];
    uint64_t size = link_constant(__tls_size), align = link_constant(__tls_align);
    if (size > TLS_BLOCK_MAX || align > 64)
        panic("picolibc TLS needs %llu bytes aligned to %llu; boot blocks have %d",
              (unsigned long long)size, (unsigned long long)align, TLS_BLOCK_MAX);
    void *tp = libc_tls_block_init(block);
    __asm__ volatile("msr tpidr_el0, %0" : : "r"(tp));
    if (this_cpu())
        this_cpu()->tls = tp;
}

void *libc_tls_block_init(void *block)
{
    _init_tls(block);
    return (char *)block - link_constant(__arm64_tls_tcb_offset);
}

size_t libc_tls_size(void) { return (size_t)link_constant(__tls_size); }

void libc_tls_layout_get(struct libc_tls_layout *out)
{
    uint64_t tcb = link_constant(__arm64_tls_tcb_offset);
    uint64_t zero = link_constant(__tbss_zero_offset), end = link_constant(__tls_size);
    *out = (struct libc_tls_layout){
        .tdata_off = (uint32_t)tcb,
        .tdata_size = (uint32_t)link_constant(__tdata_size),
        .zero_off = (uint32_t)(tcb + zero),
        .zero_size = (uint32_t)(end - zero),
    };
    if (((tcb + zero) | (end - zero)) & 15)
        panic("picolibc TLS: the zeroed part of .tbss is not 16-byte aligned");
}

void libc_tls_copy_tdata(void *tp)
{
    memcpy((char *)tp + link_constant(__arm64_tls_tcb_offset), __tdata_source,
           link_constant(__tdata_size));
}
