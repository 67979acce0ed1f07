/*
 * Host checks that several runners and `hvbench info` share: is /dev/kvm
 * usable (and why not, in words that say what to do), is it the nested PVM
 * flavour, where is a program on PATH.
 */
#ifndef HVB_RUNNERS_HOST_H
#define HVB_RUNNERS_HOST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Can this process drive /dev/kvm: it exists, opens read-write, speaks
 * KVM_API_VERSION and has the extensions every VMM here needs
 * (user memory, immediate exit, extended CPUID)?  0, or -errno with a
 * reason that says what to do.
 */
int hvb_kvm_usable(char *why, size_t len);

/* Is the host's KVM the nested PVM flavour (guest ring 0 emulated)? */
bool hvb_host_is_pvm(void);

/* Full path of `name` through PATH (a name with a slash is taken as is) if
 * it is executable: 0, or -ENOENT. */
int hvb_find_exe(const char *name, char *out, size_t len);

#endif
