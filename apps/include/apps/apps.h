/* The applications built into the image (apps/). */
#ifndef APPS_APPS_H
#define APPS_APPS_H

int hello_cores_main(void);   /* default: proof of life from every core */
int crash_main(void);         /* "sr.crash": an unexpected fault, reported */

#endif
