/* Host context recorded with every run (meta.csv; see results/FORMAT.md). */
#ifndef HVB_META_H
#define HVB_META_H

#include "sink.h"

/* Write the host keys: kernel, CPU, memory, hypervisor/nesting, mitigations,
 * huge pages, governor, topology, compiler and workload flags, build. */
void hvb_meta_host(struct hvb_sink *sink);

/* What the host itself runs on: "none", or the CPUID hypervisor vendor
 * ("KVMKVMKVM", "XenVMMXenVMM", ...), written into buf. */
void hvb_meta_hypervisor(char *buf, size_t len);

/* Nesting: "pvm (/dev/kvm is kvm_pvm ...)", "kvm on hardware virtualization
 * (vmx)", "no /dev/kvm", ...  written into buf. */
void hvb_meta_nesting(char *buf, size_t len);

/* Value of the first "key : value" line of /proc/cpuinfo with that key. */
int hvb_cpuinfo_get(const char *key, char *buf, size_t len);

#endif
