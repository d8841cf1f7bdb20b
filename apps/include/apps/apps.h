/* The applications built into the image (apps/). */
#ifndef APPS_APPS_H
#define APPS_APPS_H

int hello_cores_main(void);   /* default: proof of life from every core */
int demo_main(void);          /* then the demo apps together ("sr.hello": skip them) */
int crash_main(void);         /* "sr.crash": a task faults, is killed and reported */
int panic_main(void);         /* "sr.panic": a fault in interrupt context panics */
int async_million_main(void); /* "sr.async1m": 1,000,000 sleeping stackless tasks (make stress-async) */

#endif
