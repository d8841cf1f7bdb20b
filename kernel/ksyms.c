/*
 * Symbol lookup for backtraces. Table layout (see scripts/gen-ksyms.py), all
 * in .ksyms: ksyms_count, then ksyms_offsets[] (function start - _start,
 * ascending, position independent: no relocations), ksyms_name_offsets[],
 * and the NUL-terminated names in ksyms_names.
 */
#include <stddef.h>
#include <arch/boot.h>
#include <kernel/ksyms.h>

extern const uint32_t ksyms_count;
extern const uint32_t ksyms_offsets[];
extern const uint32_t ksyms_name_offsets[];
extern const char ksyms_names[];

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
    uint64_t start = (uint64_t)_start;

    if (addr < start || addr >= (uint64_t)__text_end || ksyms_count == 0)
        return NULL;
    uint64_t rel = addr - start;
    if (rel < ksyms_offsets[0])
        return NULL;
    /* Last symbol whose offset is <= rel. */
    uint32_t lo = 0, hi = ksyms_count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ksyms_offsets[mid] <= rel)
            lo = mid;
        else
            hi = mid;
    }
    *offset = rel - ksyms_offsets[lo];
    return &ksyms_names[ksyms_name_offsets[lo]];
}
