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

/*
 * What this host is (results/FORMAT.md host_kind): "bare-metal", "xen-dom0",
 * "xen-domU", "nested" (a VM that itself offers /dev/kvm, e.g. kvm_pvm),
 * "kvm-guest" (a KVM guest without /dev/kvm) or "vm" (another hypervisor),
 * with what was read to decide it in evidence.  Files are read under root
 * ("" for the real host; tests give a fake tree, see HVB_HOST_ROOT).
 */
void hvb_meta_host_kind(const char *root, char *kind, size_t klen, char *evidence, size_t elen);

/*
 * The fields that must match for two boots to be the same machine (CPU
 * model, family/model/stepping, microcode, DMI product and serials where
 * readable) and their short hash: "fields" lists the names used, "hash" is
 * 16 hex digits.  Kernel and memory are left out: they differ between a
 * Linux and a Xen boot of one machine by design (dom0 sees dom0_mem).
 */
void hvb_meta_host_identity(const char *root, char *hash, size_t hlen, char *fields,
			    size_t flen);

#endif
