/* Host MMIO: dispatch to the installed register model (see arch/io.h here). */
#include <stdio.h>
#include <stdlib.h>

#include <arch/io.h>

static const struct host_mmio_model *model;

void host_mmio_set_model(const struct host_mmio_model *m)
{
    model = m;
}

static const struct host_mmio_model *need_model(uintptr_t a)
{
    if (!model) {
        fprintf(stderr, "host mmio: access to 0x%llx with no register model installed\n",
                (unsigned long long)a);
        abort();
    }
    return model;
}

uint8_t mmio_read8(uintptr_t a) { return (uint8_t)need_model(a)->read(model->ctx, a, 1); }
uint32_t mmio_read32(uintptr_t a) { return (uint32_t)need_model(a)->read(model->ctx, a, 4); }
uint64_t mmio_read64(uintptr_t a) { return need_model(a)->read(model->ctx, a, 8); }
void mmio_write8(uintptr_t a, uint8_t v) { need_model(a)->write(model->ctx, a, 1, v); }
void mmio_write32(uintptr_t a, uint32_t v) { need_model(a)->write(model->ctx, a, 4, v); }
void mmio_write64(uintptr_t a, uint64_t v) { need_model(a)->write(model->ctx, a, 8, v); }
