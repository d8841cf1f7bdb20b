/* Fatal errors and the way out: panic() reports and stops the machine;
 * system_exit() ends the run with an exit status (semihosting when present,
 * else PSCI SYSTEM_OFF, else halt). */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#define EXIT_PANIC 3

_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void system_exit(int code);
/* Stop this core for good (interrupts masked, WFI). */
_Noreturn void cpu_halt(void);

#endif
