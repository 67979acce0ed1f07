/* Native environment of the harness (see rt_native.c). */
#ifndef HVB_RT_NATIVE_H
#define HVB_RT_NATIVE_H

/* File descriptor the records go to (the native runner's pipe). */
void rt_native_set_fd(int fd);

#endif
