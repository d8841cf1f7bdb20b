/* drivers/serial/ns16550.c with its port handler (UART_PORT_IRQ_HANDLER, as the
 * image builds it) for the host tests of the interrupt path; host tools
 * (dtinfo) link the driver's pure build instead. */
#define SR_HOST_UART_PORT 1
#include "ns16550.c"
