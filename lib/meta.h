/* Host context recorded with every run (meta.csv; see results/FORMAT.md). */
#ifndef HVB_META_H
#define HVB_META_H

#include <stdbool.h>

#include "sink.h"

/* Write the host keys: kernel, CPU, memory, hypervisor/nesting, mitigations,
 * huge pages, governor, topology, compiler and workload flags, build. */
void hvb_meta_host(struct hvb_sink *sink);

/* The run's placement (--vcpus, --cpus): meta keys vcpus, cpus (host CPU of
 * vCPU / worker i, comma-separated; -1 = unpinned) and overcommit ("no",
 * or "yes: N vCPUs on M host CPUs"). */
void hvb_meta_placement(struct hvb_sink *sink, unsigned vcpus, const int *cpus,
			unsigned host_cpus, bool overcommit);

/* What the host itself runs on: "none", or the CPUID hypervisor vendor
 * ("KVMKVMKVM", "XenVMMXenVMM", ...), written into buf. */
void hvb_meta_hypervisor(char *buf, size_t len);

/* Nesting of the real host (never under HVB_HOST_ROOT: runners decide by
 * it): "pvm (/dev/kvm is kvm_pvm ...)", "kvm on hardware virtualization
 * (vmx; bare metal)", "no /dev/kvm (KVM)", ...  written into buf. */
void hvb_meta_nesting(char *buf, size_t len);

/* The same read under root ("" for the real host; tests give a fake tree
 * with ROOT/cpuid-hypervisor, see HVB_HOST_ROOT).  The CPUID signature is
 * named in words ("QEMU TCG", "KVM"): the raw list is the hypervisor key. */
void hvb_meta_nesting_at(const char *root, char *buf, size_t len);

/* HVB_HOST_ROOT: a fake /proc + /sys tree for the tests; "" (the real
 * host) when unset.  The root the host.* readers take. */
const char *hvb_host_root(void);

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
