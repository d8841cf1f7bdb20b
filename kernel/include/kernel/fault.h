/*
 * Catching an expected synchronous fault on the calling core (used by tests
 * that check fault handling itself, and by probes):
 *
 *     struct fault_catch fc;
 *     FAULT_CATCH(&fc, { *(volatile int *)0 = 1; });
 *     if (fc.caught) ... fc.esr, fc.far, fc.elr ...
 *
 * If the body faults, execution resumes after FAULT_CATCH with caught set;
 * locals written inside the body must be volatile (setjmp rules).
 */
#ifndef KERNEL_FAULT_H
#define KERNEL_FAULT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

struct fault_catch {
    jmp_buf env;
    bool caught;
    uint64_t esr, far, elr;
};

void fault_catch_arm(struct fault_catch *fc);
void fault_catch_disarm(void);

#define FAULT_CATCH(fc, body)                                                     \
    do {                                                                          \
        (fc)->caught = false;                                                     \
        if (setjmp((fc)->env) == 0) {                                             \
            fault_catch_arm(fc);                                                  \
            body;                                                                 \
            fault_catch_disarm();                                                 \
        }                                                                         \
    } while (0)

#endif
