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
extern char __tls_size[], __tls_align[], __arm64_tls_tcb_offset[];

/* Runs for every task spawned: a small .tbss (picolibc's is errno alone) is
 * zeroed in place, without memset's set-up, and an empty .tdata copies
 * nothing. */
void _init_tls(void *tls);
void _init_tls(void *tls)
{
    uint64_t tdata = link_constant(__tdata_size), tbss = link_constant(__tbss_size);
    uint64_t off = link_constant(__tbss_offset);
    if (tdata)
        memcpy(tls, __tdata_source, tdata);
    if (tbss > 32) {
        memset((char *)tls + off, 0, tbss);
    } else if (!((off | tbss | (uint64_t)tls) & 3)) {
        for (uint64_t i = 0; i < tbss; i += 4)   /* volatile: not turned back into memset */
            *(volatile uint32_t *)((char *)tls + off + i) = 0;
    } else {
        for (uint64_t i = 0; i < tbss; i++)
            ((volatile char *)tls)[off + i] = 0;
    }
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
