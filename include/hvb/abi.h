/*
 * hvbench host <-> guest ABI.
 *
 * The only header shared by the host (hvbench, the reference core hv/, the
 * runners) and the guest (workloads/rt/, the workloads).  Self-contained C99:
 * no libc headers beyond <stdint.h>, no host or guest types.  Bump
 * HVB_ABI_VERSION on any incompatible change; the guest image carries the
 * version in an ELF note (HVB_NOTE_ABI) and the host refuses a mismatch.
 *
 * Channels:
 *   host -> guest  the PVH start-info command line (hvm_start_info.cmdline_paddr),
 *                  "key=value" words parsed by workloads/harness.c
 *                  (see HVB_CMDLINE_* below), the same string under every VMM
 *                  (reference core, QEMU -append, Xen extra=).
 *   guest -> host  struct hvb_record, either
 *                  - written to guest memory and its guest-physical address
 *                    sent with a 32-bit OUT to HVB_PORT_RECORD (reference
 *                    core: binary, no parsing), or
 *                  - framed as a console line (HVB_CONSOLE_*) where the VMM
 *                    offers only a console (QEMU serial, Xen PV console), or
 *                  - written to a pipe (native runner: the same records).
 */
#ifndef HVB_ABI_H
#define HVB_ABI_H

#include <stdint.h>

#define HVB_ABI_VERSION 1

/* ELF note in the guest image: name "hvbench", type HVB_NOTE_ABI, 4-byte desc = version. */
#define HVB_NOTE_NAME "hvbench"
#define HVB_NOTE_ABI  0x4842 /* 'HB' */

/* Xen's PVH entry note type (XEN_ELFNOTE_PHYS32_ENTRY), name "Xen".  The
 * guest's boot contract (entry state, where start_info / command line /
 * memory map may live, RAM it uses) is in workloads/rt/README.md. */
#define HVB_XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * I/O ports of the hvbench device (reference core; QEMU and Xen do not
 * implement them, the guest is told by the "dev=" command-line word).
 */
#define HVB_PORT_RECORD      0x0500 /* outl: guest-physical address of a struct hvb_record (< 4 GiB) */
#define HVB_PORT_BENCH_USER  0x0504 /* out/in: no-op handled by the VMM in userspace */
#define HVB_PORT_BENCH_KERN  0x0508 /* out: no-op handled in the host kernel (ioeventfd) */
#define HVB_PORT_SHUTDOWN    0x050c /* outb: guest is done; value = enum hvb_exit_code */
#define HVB_PORT_FIRST       0x0500
#define HVB_PORT_LAST        0x050f
/* Well-known ports the guest may use elsewhere. */
#define HVB_PORT_COM1        0x03f8 /* 16550 serial: console records under QEMU */
#define HVB_PORT_DEBUGCON    0x00e9 /* QEMU isa-debugcon / Xen HVM debug port: short markers */
#define HVB_PORT_QEMU_EXIT   0x00f4 /* QEMU isa-debug-exit: exit status (v << 1) | 1 */

/* MMIO regions of the hvbench device (guest-physical, one page each). */
#define HVB_MMIO_BENCH_USER  0xd0000000ull /* read/write: handled by the VMM in userspace */
#define HVB_MMIO_BENCH_KERN  0xd0001000ull /* write: handled in the host kernel (ioeventfd) */
#define HVB_MMIO_SIZE        0x1000ull

/*
 * Interrupt bench device (reference core only; HVB_CAP_VIRQ / HVB_CAP_KICK):
 *   HVB_PORT_KICK   outb: an ioeventfd.  A host thread blocked on it stamps
 *                   its receipt (host TSC) into the shared page and, when
 *                   the guest asked for it (virq_req), stamps again and
 *                   signals an irqfd that raises HVB_VEC_VIRQ on the vCPU
 *                   named by virq_cpu.  I/O latency out = kick_rx_tsc - the
 *                   guest's TSC before the out; in = the guest handler's
 *                   TSC - inject_tsc (Dall et al. 2016).  The guest and the
 *                   host read the same TSC (no offset under KVM; the host
 *                   checks KVM_GET_TSC_KHZ/offset and refuses otherwise).
 *   HVB_SHARED_IRQ  one page of ordinary RAM (its own memslot), mapped by the
 *                   guest cached and user-accessible: struct hvb_irq_shared.
 */
#define HVB_PORT_KICK        0x050e
#define HVB_SHARED_IRQ       0xd0002000ull

struct hvb_irq_shared {
	uint64_t seq;         /* guest: bumped before each kick */
	uint64_t virq_req;    /* guest: 1 = inject HVB_VEC_VIRQ after this kick */
	uint64_t virq_cpu;    /* guest: target vCPU index of the injection */
	uint64_t kick_seq;    /* host: seq seen by the last kick it served; written
			       * last (release): the stamps and totals are final then */
	uint64_t kick_rx_tsc; /* host: TSC when its thread saw the kick */
	uint64_t inject_tsc;  /* host: TSC just before it signalled the irqfd */
	uint64_t kicks, injections; /* host: totals (checked against the guest's counts) */
};

/* Interrupt vectors the guest runtime installs (IDT; xAPIC/x2APIC).  One
 * handler per kind: count, stamp the TSC, EOI, return. */
#define HVB_VEC_SELF  0xe0  /* self-IPI */
#define HVB_VEC_PING  0xe1  /* IPI to another vCPU; its handler answers with PONG */
#define HVB_VEC_PONG  0xe2  /* the answer */
#define HVB_VEC_WAKE  0xe3  /* IPI that only wakes an idle vCPU (SMP work dispatch) */
#define HVB_VEC_TIMER 0xe4  /* TSC-deadline / one-shot LAPIC timer */
#define HVB_VEC_VIRQ  0xe5  /* injected by the host (irqfd / VMM) */
#define HVB_VEC_STORM 0xe6  /* hostile-guest tests: counted, never EOI'd on purpose */

/*
 * Block device (io/ workloads).  Under the reference core and QEMU (machine
 * microvm) it is virtio-blk behind a virtio-mmio (version 2, modern) window,
 * which the guest finds the way Linux does, by command-line words
 *   virtio_mmio.device=<size>@<base>:<irq>   size: decimal, or with K/M
 *                                            suffix, or 0x-hex; base: 0x-hex
 * (QEMU 7.2 microvm appends them itself only with acpi=off; the reference
 * core writes the same words), taking the first window whose DeviceID is 2
 * (block) and whose version is 2 (workloads/rt/README.md).  The core
 * puts its first window at HVB_VIRTIO_MMIO_BASE, one page per device.
 * Under Xen it is a blkfront against dom0's blkback (vbd 51712, xvda).
 *
 * Network device (net/ workloads): virtio-net (DeviceID 1) the same way,
 * in the core's window after the block device's (HVB_VIRTIO_MMIO_NET; the
 * guest goes by DeviceID, not by address); under Xen a netfront against
 * dom0's netback (vif 0).  Addresses: the net.* words below.
 */
#define HVB_VIRTIO_MMIO_BASE 0xd0010000ull
#define HVB_VIRTIO_MMIO_SIZE 0x1000ull
#define HVB_VIRTIO_MMIO_NET  (HVB_VIRTIO_MMIO_BASE + HVB_VIRTIO_MMIO_SIZE)

/* Hypercall used by micro/hypercall under KVM: an unknown number, answered
 * in the host kernel with -KVM_ENOSYS (the classic null hypercall). */
#define HVB_HC_NULL 0x48564200u

/* Repetition markers for host-side tracers that see the guest's exits but
 * not its records (Xen: xentrace, TRC_HVM_CPUID has leaf and subleaf).  On
 * dev=xencons the guest executes cpuid with leaf BEGIN, subleaf = rep, just
 * after its REP_BEGIN record is on the console, and with leaf END just before
 * the REP_END record: the exits in between are the repetition's.  The leaves
 * are unknown to every hypervisor (all-zero answer). */
#define HVB_CPUID_MARK_BEGIN 0x48564201u
#define HVB_CPUID_MARK_END   0x48564202u

/* Guest exit codes (HVB_PORT_SHUTDOWN value, QEMU isa-debug-exit value). */
enum hvb_exit_code {
	HVB_EXIT_OK = 0,       /* all selected workloads ran (some may be skipped) */
	HVB_EXIT_BADCMD = 1,   /* command line not understood */
	HVB_EXIT_FAULT = 2,    /* unexpected exception in the guest (a FAULT record precedes) */
	HVB_EXIT_PANIC = 3,    /* guest runtime gave up (a LOG record says why) */
};

/* Record types. */
enum hvb_record_type {
	HVB_REC_HELLO = 1,      /* guest is up: u64[0] = TSC at entry, u64[1] = TSC at first workload insn */
	HVB_REC_CELL_BEGIN = 2, /* workload starts: workload; u64[0] = iterations per batch, u64[1] = batches */
	HVB_REC_REP_BEGIN = 3,  /* a measured repetition starts (host brackets its probes here) */
	HVB_REC_REP_END = 4,    /* ... and ends */
	HVB_REC_SAMPLE = 5,     /* one observation: workload, metric, unit, better, rep, value, text = note;
				 * status skipped/unsupported: not measured, text = why (value unread) */
	HVB_REC_STATUS = 6,     /* cell not run or failed: status + text = reason */
	HVB_REC_LOG = 7,        /* diagnostic text (not a result) */
	HVB_REC_FAULT = 8,      /* guest exception: u64 = {vector, error code, rip, cr2}, text = where */
	HVB_REC_DONE = 9,       /* all work done; the guest stops next */
	HVB_REC_RELEASE = 10,   /* request: host may drop backing of u64[0]=gpa, u64[1]=len (page-aligned) */
};

/* Cell status (HVB_REC_STATUS, and results files). */
enum hvb_status {
	HVB_ST_OK = 0,
	HVB_ST_SKIPPED = 1,     /* valid() said no on this host/runner: reason says why */
	HVB_ST_UNSUPPORTED = 2, /* the measurement cannot be made here (e.g. no PMU) */
	HVB_ST_FAILED = 3,      /* the workload or the guest failed */
};

/* Direction of a metric. */
#define HVB_LOWER_IS_BETTER  (-1)
#define HVB_HIGHER_IS_BETTER 1

#define HVB_RECORD_MAGIC 0x31425648u /* "HVB1" little-endian */
#define HVB_NAME_MAX     48
#define HVB_METRIC_MAX   32
#define HVB_UNIT_MAX     16
#define HVB_TEXT_MAX     96

/* One guest -> host record.  Fixed size, little-endian, strings NUL-padded;
 * the host never trusts a string to be terminated. */
struct hvb_record {
	uint32_t magic;   /* HVB_RECORD_MAGIC */
	uint16_t version; /* HVB_ABI_VERSION */
	uint16_t type;    /* enum hvb_record_type */
	uint32_t size;    /* sizeof(struct hvb_record) */
	uint32_t rep;     /* repetition index (SAMPLE, REP_*) */
	char workload[HVB_NAME_MAX];
	char metric[HVB_METRIC_MAX];
	char unit[HVB_UNIT_MAX];
	int32_t better;   /* HVB_LOWER_IS_BETTER / HVB_HIGHER_IS_BETTER */
	int32_t status;   /* enum hvb_status */
	double value;
	uint64_t u64[4];  /* type-specific, see enum hvb_record_type */
	char text[HVB_TEXT_MAX];
};

#define HVB_RECORD_SIZE 256
typedef char hvb_record_size_check[sizeof(struct hvb_record) == HVB_RECORD_SIZE ? 1 : -1];

/*
 * Console framing (QEMU serial, Xen PV console): one record per line,
 *   "@hvb1 <seq-hex8> <record as 512 lowercase hex digits> <crc32c-hex8>\n"
 * or, compact (where every byte costs an exit: the serial line),
 *   "@hvb2 <seq-hex8> <record: 2 hex digits a byte, "zNN" a run of NN
 *    (hex, 02..ff) zero bytes> <crc32c-hex8>\n"
 * crc32c over the seq (4 bytes, little-endian) then the 256 record bytes;
 * seq counts 0, 1, 2, ... from boot.  The host drops lines that fail the
 * check and reports them; seq lets it detect lost and duplicated records.
 */
#define HVB_CONSOLE_PREFIX   "@hvb1 "
#define HVB_CONSOLE_PREFIX_Z "@hvb2 "

/*
 * Command-line words (host -> guest and native harness), space separated:
 *   w=NAME[,NAME...]   workloads to run, by exact name, in order
 *   rep=N              index of the first repetition (default 0)
 *   reps=N             repetitions in this invocation (default 1)
 *   goal_us=N          calibration time goal per batch in microseconds
 *   batches=N          timed batches per repetition (inner samples)
 *   tsc_khz=N          TSC frequency measured by the host (guest: required)
 *   quick=1            smaller working sets and goals for smoke runs
 *   dev=hvb|serial|xencons   where records go (guest only)
 *   caps=HEX           host-detected capabilities (HVB_CAP_*)
 *   mmio_user=HEX      guest-physical page that rt_mmio(HVB_MMIO_BENCH_USER)
 *                      maps instead (guest only; absent = HVB_MMIO_BENCH_USER),
 *                      for VMMs that cannot place a device at that address:
 *                      QEMU's pc-testdev has its userspace MMIO at 0xff000000.
 *                      The workload code (and its instructions) stay the same.
 *   pt=4k              guest: 4 KiB pages for all RAM (default 2 MiB pages)
 *   hc=vmcall|vmmcall  guest: null hypercall instruction (default: by CPU
 *                      vendor with HVB_CAP_CPUID, else vmmcall with HVB_CAP_PVM,
 *                      else vmcall)
 *   virtio_mmio.device=SIZE@BASE:IRQ  guest: a virtio-mmio window (above)
 *   disk=PATH          native only: the run's disk file (io/ workloads)
 *   odirect=0|1        native only: open disk= with O_DIRECT (the runner
 *                      found out whether the file system allows it)
 *   net.mac=XX:XX:XX:XX:XX:XX  net/: our MAC address (lower-case hex)
 *   net.ip=A.B.C.D     net/: our IPv4 address
 *   net.peer_mac=XX:XX:XX:XX:XX:XX  net/: the responder's interface (next hop)
 *   net.peer_ip=A.B.C.D  net/: the responder's IPv4 address
 *   net.port=N         net/: our UDP port
 *   net.peer_port=N    net/: the responder's UDP port (hvb/netproto.h)
 *   net.reflect=1      net/: no responder: the link reflects every frame
 *                      back with Ethernet, IPv4 and UDP source and
 *                      destination swapped (the reference core's loopback
 *                      backend; checksums stay valid), so ECHO works and
 *                      nothing else is answered
 *   netif=NAME         native only: the interface AF_PACKET binds to (the
 *                      runner starts the native child in the namespace
 *                      that holds it)
 *   vcpus=N            guest and native: CPUs that run (1..HVB_MAX_VCPUS,
 *                      default 1); natively worker threads, pinned
 *   smp=direct|sipi|xen  guest: how application processors start: the VMM
 *                      starts them at the image's AP entry (HVB_NOTE_AP_ENTRY,
 *                      reference core), the BSP sends INIT-SIPI-SIPI (QEMU),
 *                      or VCPUOP_initialise/VCPUOP_up (Xen PVH and PV)
 *   cpus=LIST          native only: host CPUs the worker threads are pinned to
 *   param.S.N=V        workload parameter N of the workload whose name after
 *                      its family is S (e.g. param.open-loop.rate=2000),
 *                      unsigned; the harness checks it against the
 *                      descriptor's range (workload.h struct hvb_param)
 *   fault=WORD         guest test word: fault on purpose before any workload
 *                      (ud, pf, null, gp, de, ring0) -> FAULT record, HVB_EXIT_FAULT;
 *                      hang: cli; hlt for good in ring 0 (the host's timeout ends it)
 */
#define HVB_CMDLINE_MAX 4096

/* Capabilities the host grants or detects (caps= word); workloads' valid() test them. */
#define HVB_CAP_PIO_USER     (1u << 0)  /* HVB_PORT_BENCH_USER is handled */
#define HVB_CAP_PIO_KERN     (1u << 1)  /* HVB_PORT_BENCH_KERN is an ioeventfd */
#define HVB_CAP_MMIO_USER    (1u << 2)
#define HVB_CAP_MMIO_KERN    (1u << 3)
#define HVB_CAP_HYPERCALL    (1u << 4)  /* a null hypercall returns (vmcall/vmmcall/Xen) */
#define HVB_CAP_CPUID        (1u << 5)  /* cpuid can be executed where the workload runs */
#define HVB_CAP_MSR          (1u << 6)  /* rdmsr/wrmsr reachable (guest ring 0) */
#define HVB_CAP_HLT          (1u << 7)  /* halt + wake-up works.  Under KVM/QEMU the guest runs
					   * hlt in ring 0 with interrupts off, so grant it only if
					   * the VMM resumes the vCPU after the halt exit (no
					   * in-kernel irqchip); under Xen PVH it halts with
					   * interrupts on, woken by the LAPIC timer; under Xen PV
					   * it blocks in SCHEDOP_poll (runners/xen/README.md) */
#define HVB_CAP_RELEASE      (1u << 8)  /* HVB_REC_RELEASE honoured: first-touch can repeat */
#define HVB_CAP_PVM          (1u << 9)  /* host KVM is PVM: ring 0 is instruction-emulated */
#define HVB_CAP_EMULATED     (1u << 10) /* full emulation (TCG): functional numbers only */
#define HVB_CAP_XEN_PV       (1u << 11) /* a Xen PV guest: syscall and int3 are bounced by Xen */
#define HVB_CAP_BLK          (1u << 12) /* the runner attached the run's disk (io/ workloads) */
#define HVB_CAP_NET          (1u << 13) /* the runner attached the run's network link and responder (net/) */
#define HVB_CAP_IRQ          (1u << 14) /* interrupts are delivered: an irqchip / LAPIC (or Xen event
					   * channels) the host checked delivers IPIs and timers */
#define HVB_CAP_VIRQ         (1u << 15) /* the interrupt bench device injects HVB_VEC_VIRQ (above) */
#define HVB_CAP_KICK         (1u << 16) /* HVB_PORT_KICK is served by a host thread that stamps receipt */
#define HVB_CAP_ONE_TSC      (1u << 17) /* the guest's TSC is the host's: host-side stamps (kick
					   * receipt, inject) and guest stamps are one clock.  Not
					   * granted where the host's TSC is unstable: KVM then
					   * re-offsets the guest's TSC at every vCPU load */

/* Most vCPUs a guest (or native worker threads) may have. */
#define HVB_MAX_VCPUS 8

/* ELF note in the guest image: name "hvbench", type HVB_NOTE_AP_ENTRY, 4-byte
 * desc = 32-bit physical address where an application processor starts in
 * 32-bit protected mode, paging off, flat segments, interrupts off, %esi =
 * its vCPU index (1..vcpus-1) (workloads/rt/README.md). */
#define HVB_NOTE_AP_ENTRY 0x4841 /* 'HA' */

#endif /* HVB_ABI_H */
