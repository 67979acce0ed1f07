/*
 * Workload model and the rt_* API a workload body may use.
 *
 * A workload is a struct hvb_workload placed in the "hvb_workloads" linker
 * section with HVB_WORKLOAD(); the harness (workloads/harness.c) finds every
 * descriptor between __start_hvb_workloads and __stop_hvb_workloads, natively
 * and in the guest alike.
 *
 * Workload sources include only this header (and <stdint.h>, <stddef.h>,
 * <stdbool.h>): they are compiled ONCE with WORKLOAD_CFLAGS and the same
 * object files are linked into the native hvbench binary and into the guest
 * image, so native and virtual runs execute identical instructions.  The
 * rt_* functions below are implemented twice: hosted (workloads/native/) and
 * freestanding in the guest (workloads/rt/).
 *
 * Measurement, as in kvm-unit-tests x86/vmexit.c: the harness calls run(ctx,
 * n) which must perform exactly n operations; it calibrates n so that one
 * batch lasts about the time goal, warms up, then times `batches` batches per
 * repetition with serialized TSC reads.  From the per-batch times it derives
 * the metrics of the descriptor's kind (see enum hvb_kind).
 */
#ifndef HVB_WORKLOAD_H
#define HVB_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"

struct hvb_ctx;

/* What a workload's operation count means, and hence which metrics it yields. */
enum hvb_kind {
	/* Latency-like: ns_per_op and cycles_per_op (lower is better), with
	 * ns_per_op.p50/.p90/.p99 over the batches of a repetition. */
	HVB_KIND_TIME_PER_OP = 0,
	/* Bandwidth: bandwidth in MB/s (10^6 bytes/s, higher is better) computed
	 * from bytes_per_op; plus ns_per_op. */
	HVB_KIND_BANDWIDTH = 1,
	/* Throughput: ops_per_s (higher is better); plus ns_per_op. */
	HVB_KIND_RATE = 2,
};

/*
 * The metric that stands for a workload of this kind wherever one number
 * per workload is shown (the run summary, compare's verdict counts, the
 * report's overhead tables).  Decided here only: `hvbench run` writes it
 * into meta.csv as primary.<workload> (results/FORMAT.md), and every reader
 * takes it from there.
 */
static inline const char *hvb_kind_primary(enum hvb_kind kind)
{
	switch (kind) {
	case HVB_KIND_BANDWIDTH:
		return "bandwidth";
	case HVB_KIND_RATE:
		return "ops_per_s";
	case HVB_KIND_TIME_PER_OP:
		break;
	}
	return "ns_per_op";
}

/* The boot time row every booting runner writes (workload "boot"). */
#define HVB_BOOT_WORKLOAD "boot"
#define HVB_BOOT_METRIC	  "boot_ms"

struct hvb_workload {
	const char *name;  /* stable "family/name", e.g. "mem/stream-triad" */
	const char *desc;  /* one line: what one operation is */
	enum hvb_kind kind;
	uint64_t bytes_per_op; /* HVB_KIND_BANDWIDTH: bytes moved per operation (may be set by setup) */

	/* May this workload run here?  false + *reason = recorded as skipped. NULL = always. */
	bool (*valid)(struct hvb_ctx *ctx, const char **reason);
	/* Allocate and initialise (untimed).  0 or a negative error; *reason on error. */
	int (*setup)(struct hvb_ctx *ctx, const char **reason);
	/* Perform exactly n operations (timed). */
	void (*run)(struct hvb_ctx *ctx, uint64_t n);
	/* Untimed hooks around each timed batch (NULL = none): e.g. fresh pages for first-touch. */
	void (*before_batch)(struct hvb_ctx *ctx, uint64_t n);
	void (*after_batch)(struct hvb_ctx *ctx, uint64_t n);
	void (*teardown)(struct hvb_ctx *ctx);

	uint64_t fixed_ops;   /* 0 = calibrate to the time goal; else n per batch */
	uint64_t max_ops;     /* upper bound on calibrated n (0 = none), e.g. fresh pages available */
	const char *note;     /* recorded with every sample, e.g. "native analogue: getppid()" (may be set by valid/setup) */
	/* HVB_CAP_* a guest must offer for this workload to run (data for the
	 * host: which capability probe a selection needs; valid() still
	 * decides in the guest, where a few mechanisms differ per platform). */
	uint32_t needs;
	bool per_request;     /* run() calls rt_req_time() per request (above) */
	bool counts_loss;     /* run() (or after_batch) calls rt_lost()/rt_reordered() (below) */
};

/* Per-run state handed to every hook.  `priv` belongs to the workload. */
struct hvb_ctx {
	const struct hvb_workload *w;
	void *priv;
	uint64_t bytes_per_op; /* copied from the descriptor; setup may change it */
	const char *note;      /* copied from the descriptor; valid/setup may change it */
	bool quick;            /* smoke run: smaller working sets are fine */
	uint32_t caps;         /* HVB_CAP_* of this environment */
	bool native;           /* running natively (not in a guest) */
};

#define HVB_WORKLOAD(var)                                                              \
	static const struct hvb_workload *const hvb_workload_ptr_##var                 \
		__attribute__((section("hvb_workloads"), used, aligned(sizeof(void *)))) = &var

/* ---------------------------------------------------------------- timing */

/* TSC read ordered after all earlier instructions (start of a timed region). */
static inline uint64_t rt_tsc_begin(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* TSC read after all earlier instructions completed (end of a timed region). */
static inline uint64_t rt_tsc_end(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* TSC frequency in kHz (native: measured at start; guest: from the host). */
uint64_t rt_tsc_khz(void);

/* Keep the compiler from deleting a computed value or hoisting memory accesses. */
#define rt_keep(v) __asm__ volatile("" : : "g"(v) : "memory")
#define rt_barrier() __asm__ volatile("" ::: "memory")

/* ------------------------------------------------------------ memory */

/* Zeroed, `align`-aligned memory (align a power of two <= 2 MiB); NULL when
 * exhausted.  Freed with rt_free (sizes must match). */
void *rt_alloc(size_t bytes, size_t align);
void rt_free(void *p, size_t bytes);

/* Page-aligned memory never touched since it was obtained (first access faults
 * in the host: page fault natively, EPT/NPT violation in a VM).  NULL if none.
 * rt_fresh_release gives the backing back so the next rt_fresh_alloc faults again. */
void *rt_fresh_alloc(size_t bytes);
void rt_fresh_release(void *p, size_t bytes);

/* What pages back [p, p + bytes) of an rt_alloc/rt_fresh_alloc buffer, for
 * notes: natively what /proc/self/smaps shows (after the buffer was
 * touched), in a guest the page size of its page tables.  Never NULL. */
const char *rt_mem_page_note(const void *p, size_t bytes);

/* Bytes of memory available to workloads (for sizing working sets). */
uint64_t rt_mem_available(void);

/* ------------------------------------------------------------ misc */

void rt_memset(void *d, int c, size_t n);
void rt_memcpy(void *d, const void *s, size_t n);

/* Deterministic PRNG (xorshift64*): same sequence natively and in the guest. */
static inline uint64_t rt_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Diagnostic line to the host (not a result). */
void rt_log(const char *msg);

/* --------------------------------------------- exit primitives (micro/) */
/* Each performs the operation once; valid() must check rt_has() first. */

static inline void rt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t rt_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub)
			 : "memory");
}

/* Environment-specific operations (one implementation per environment). */
long rt_hypercall_null(void);   /* guest: null hypercall; native analogue: null syscall */
long rt_syscall_null(void);     /* guest: ring 3 -> ring 0 -> ring 3 round trip; native: null syscall */
long rt_gate_null(void);        /* guest only: empty call through the runtime's privileged (int3) gate */
const char *rt_hypercall_note(void); /* what rt_hypercall_null does here, for notes (NULL: nothing to add) */
uint64_t rt_msr_read(uint32_t msr);          /* guest only (ring 0 via the runtime) */
void rt_msr_write(uint32_t msr, uint64_t v); /* guest only */
void rt_halt_wake(void);        /* guest only: hlt until the next timer/wake event */
/* guest only, after rt_has(HVB_CAP_HLT): arm what wakes rt_halt_wake; 0 (*note: the
 * mechanism, NULL for the plain halt exit) or -errno with *why set */
int rt_halt_prepare(const char **note, const char **why);
volatile void *rt_mmio(uint64_t gpa); /* guest only: pointer to a device MMIO page */

/* ------------------------------------------------------------ block I/O (io/) */
/*
 * One block device per environment, the same calls everywhere, so io/
 * bodies are identical natively and in every guest; what differs is what
 * serves a request, which is what io/ measures:
 *   native        the run's disk file: pread/pwrite at depth 1, Linux AIO
 *                 (io_submit) deeper, fdatasync for FLUSH; O_DIRECT where
 *                 the file system allows (odirect=)
 *   hvm           (reference core, QEMU microvm) a ring-3 virtio-blk driver
 *                 on virtio-mmio (abi.h), polling the used ring
 *   xen-pvh/-pv   a ring-3 blkfront against dom0's blkback
 * valid() checks rt_has(HVB_CAP_BLK) first.  Sectors are 512 bytes.
 * Completion is polled: nothing here waits for an interrupt.
 */
#define RT_BLK_SECTOR	 512u
#define RT_BLK_MAX_DEPTH 32u	      /* outstanding requests a driver must allow */
#define RT_BLK_MAX_BYTES (1u << 20) /* bytes one request may move */

enum rt_blk_op { RT_BLK_READ = 0, RT_BLK_WRITE = 1, RT_BLK_FLUSH = 4 }; /* virtio's numbers */

struct rt_blk_info {
	uint64_t sectors;    /* capacity in RT_BLK_SECTOR units */
	unsigned max_depth;  /* requests that may be outstanding (1..RT_BLK_MAX_DEPTH) */
	uint32_t max_bytes;  /* largest request (a multiple of 4096, <= RT_BLK_MAX_BYTES) */
	bool flush;          /* RT_BLK_FLUSH reaches stable storage (else it is a no-op: say so) */
	const char *note;    /* what serves the requests, for sample notes, e.g.
			      * "virtio-blk mmio v2, polled used ring" */
};

/* Find and bring up the environment's block device (the first call; later
 * calls return the same info).  0, or -errno with *why set. */
int rt_blk_open(struct rt_blk_info *info, const char **why);
/* Request buffer: bytes a multiple of 4096, 4 KiB aligned, zeroed, usable
 * by the device (O_DIRECT-aligned natively, granted to the backend under
 * Xen); NULL when exhausted.  rt_blk_buf_free with the same size. */
void *rt_blk_buf_alloc(size_t bytes);
void rt_blk_buf_free(void *p, size_t bytes);
/* Queue one request, not yet visible to the device: READ/WRITE of `bytes`
 * (a multiple of RT_BLK_SECTOR, <= max_bytes) at `sector` from/to `buf`
 * (inside one rt_blk_buf_alloc buffer), or FLUSH (buf NULL, bytes 0).
 * 0; -EAGAIN when max_depth requests are outstanding; -EINVAL for a bad
 * argument (past the end, misaligned, too big). */
int rt_blk_submit(enum rt_blk_op op, uint64_t sector, void *buf, uint32_t bytes, uint64_t tag);
/* Make the queued requests visible and notify the device if it wants a
 * notification (it may not: event suppression, a polling backend). */
void rt_blk_kick(void);
/* Collect up to max completed requests without waiting: tags[i] as
 * submitted, status[i] 0 or -EIO.  Returns how many. */
unsigned rt_blk_poll(uint64_t *tags, int *status, unsigned max);

/* ------------------------------------------------------------ network (net/) */
/*
 * One Ethernet link per environment, the same calls everywhere, so net/
 * bodies are identical natively and in every guest; what differs is what
 * carries a frame, which is what net/ measures:
 *   native        AF_PACKET on the run's veth (netif=), whose other end is
 *                 the responder's, in hvbench's namespace
 *   hvm           (reference core, QEMU microvm) a ring-3 virtio-net driver
 *                 on virtio-mmio, polling the used rings
 *   xen-pvh/-pv   a ring-3 netfront against dom0's netback
 * Frames are whole Ethernet frames without FCS, built and checked by the
 * workload (hvb/netproto.h): no offloads, no virtio-net header visible
 * here.  valid() checks rt_has(HVB_CAP_NET) first.  Nothing here waits
 * for an interrupt.
 */
#define RT_NET_FRAME_MIN 14u   /* an Ethernet header */
#define RT_NET_FRAME_MAX 1514u /* HVB_NET_FRAME_MAX */

struct rt_net_info {
	uint8_t mac[6];		  /* ours (net.mac) */
	uint8_t peer_mac[6];	  /* the responder side's interface (net.peer_mac) */
	uint32_t ip, peer_ip;	  /* IPv4, host byte order (net.ip, net.peer_ip) */
	uint16_t port, peer_port; /* UDP (net.port, net.peer_port) */
	bool reflect;		  /* net.reflect=1: frames come back with addresses
				   * swapped, no responder (only ECHO is answered) */
	unsigned tx_depth;	  /* frames rt_net_send may queue before -EAGAIN */
	unsigned rx_depth;	  /* receive buffers the driver keeps posted */
	const char *note;	  /* what carries the frames, for sample notes, e.g.
				   * "virtio-net mmio v2, polled used rings" */
};

/* Find and bring up the environment's link (the first call; later calls
 * return the same info).  0, or -errno with *why set (no net.* words, no
 * device, the device refused). */
int rt_net_open(struct rt_net_info *info, const char **why);
/* Queue one frame of len bytes (RT_NET_FRAME_MIN..RT_NET_FRAME_MAX) for
 * sending; it is copied, so frame may be reused at once; not yet visible
 * to the device.  Frames whose sending completed are reclaimed here.  0;
 * -EAGAIN when tx_depth frames are queued or in flight (rt_net_kick, then
 * retry); -EINVAL for a bad length. */
int rt_net_send(const void *frame, uint32_t len);
/* Make the queued frames visible and notify the device if it wants it. */
void rt_net_kick(void);
/* Take the next received frame, if any, into buf (at most max bytes: a
 * longer frame is cut to max and still consumed) and post its buffer
 * again.  Returns the frame's length (before any cut), 0 if none has
 * arrived.  Never waits. */
uint32_t rt_net_recv(void *buf, uint32_t max);

struct rt_net_stats {
	uint64_t tx_frames; /* handed to the device */
	uint64_t tx_full;   /* rt_net_send calls refused with -EAGAIN */
	uint64_t rx_frames; /* taken by rt_net_recv */
	uint64_t rx_cut;    /* of those, longer than the caller's buffer */
};
/* The driver's counters since rt_net_open (zeros before it). */
void rt_net_stats(struct rt_net_stats *st);

/* ------------------------------------------------------------ loss (net/) */
/*
 * A workload whose descriptor sets counts_loss says, per batch, how many of
 * its n operations did not happen (a datagram lost in either direction, a
 * round trip that timed out) and how many arrived out of order; it may
 * call these in run() or in after_batch of the same batch.  The harness
 * counts delivered operations (n minus lost) for the kind's metrics
 * (ns_per_op, ops_per_s and bandwidth are per delivered operation), and
 * emits per repetition, over the timed batches: lost (datagrams, lower is
 * better), loss_pct (percent of the operations, lower is better) and
 * reordered (datagrams, lower is better), zeros included: a zero is a
 * measurement.  A batch that delivered nothing fails the cell (rt_fail).
 */
void rt_lost(struct hvb_ctx *ctx, uint64_t n);
void rt_reordered(struct hvb_ctx *ctx, uint64_t n);

/* ------------------------------------------------------------ per-request latency */
/*
 * A workload whose descriptor sets per_request times each request itself
 * (TSC cycles from submit to completion) and calls rt_req_time() once per
 * request inside run().  The harness keeps every value of the measured
 * batches of a repetition (calibration and warm-up are not kept; past
 * HVB_REQ_MAX values it counts the rest as dropped and says so in the
 * note) and emits, per repetition, over all of them: req_ns.p50, req_ns.p99,
 * req_ns.p999, req_ns.max (ns, lower is better), and ops_per_s (requests
 * per second over the timed batches) unless the kind already yields it.
 */
#define HVB_REQ_MAX (1u << 16)
void rt_req_time(struct hvb_ctx *ctx, uint64_t cycles);

/*
 * A failure inside run() that the workload cannot carry on from (an I/O
 * request that completed with an error): the harness finishes the current
 * batch, emits no samples of that repetition, and ends the cell as failed
 * with `why` (static text).  The first call of a cell counts.
 */
void rt_fail(struct hvb_ctx *ctx, const char *why);

/* ------------------------------------------------------------ text (no libc) */
/* Append text, a decimal, or a 0x-hex number (no leading zeros) to the
 * NUL-terminated text ending at buf[at], inside buf[len], truncating;
 * returns the new end.  For notes and reasons a workload builds itself. */
size_t rt_text_str(char *buf, size_t len, size_t at, const char *s);
size_t rt_text_dec(char *buf, size_t len, size_t at, uint64_t v);
size_t rt_text_hex(char *buf, size_t len, size_t at, uint64_t v);

/* Capabilities of this environment (HVB_CAP_*). */
uint32_t rt_caps(void);

/* true if every capability in `need` is present; else false and *reason set. */
bool rt_has(uint32_t need, const char **reason);

#endif /* HVB_WORKLOAD_H */
