/* Host build: the image's frame layouts are plain C (kernel/sched.h's
 * struct task embeds them), so the host uses them as they are. */
#include "../../../../arch/arm64/include/arch/frame.h"
