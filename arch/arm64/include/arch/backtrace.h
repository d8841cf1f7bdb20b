/* Frame-pointer backtraces, symbolised from the image's own symbol table. */
#ifndef ARCH_BACKTRACE_H
#define ARCH_BACKTRACE_H

#include <stdint.h>

/* Print pc, then the frame-record chain starting at fp; frames must lie
 * above stack_lo and ascend (anything else ends the walk). lr: the link
 * register where pc stopped (an exception frame's x30), printed as the
 * caller if pc's function had not set up its frame record; 0 if unknown. */
void arch_backtrace_print(uint64_t pc, uint64_t lr, uint64_t fp, uint64_t stack_lo);
/* The calling code's own backtrace. */
void arch_backtrace_here(void);

#endif
