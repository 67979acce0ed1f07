/*
 * Devices of the reference core.
 *
 * A device registers the ports and guest-physical ranges it handles on a VM
 * (vm_pio_register / vm_mmio_register); the exit dispatch (exit.c) finds it
 * there.  Accesses nobody registered end the run with a verdict.  Writes the
 * host kernel should absorb without a userspace exit are registered as
 * ioeventfds (vm_ioeventfd_add).
 *
 * Built-in devices:
 *   serial console  COM1 0x3f8-0x3ff (16550 subset: THR writes, LSR says
 *                   "transmitter empty") and the debug port 0xe9: text goes
 *                   to a log callback line by line, within a byte budget
 *                   per run so a console flood cannot fill the disk.
 *   hvbench device  abi.h ports 0x500-0x50f and MMIO pages: records,
 *                   release requests, shutdown, the exit-benchmark no-ops.
 *   virtio-blk      (virtio_blk.h, attached by the runner, not here) a
 *                   virtio-mmio v2 window at HVB_VIRTIO_MMIO_BASE backed by
 *                   a host file, served by an I/O thread or inside the
 *                   QueueNotify exit; hostile drivers get failed requests
 *                   or DEVICE_NEEDS_RESET, bad register accesses a verdict
 *                   (virtio.h; README "virtio-blk" has the table).
 *   virtio-net      (virtio_net.h, attached by the runner) the window at
 *                   HVB_VIRTIO_MMIO_NET, receive and transmit queues, tap /
 *                   vhost-net / loopback behind it; malformed frames are
 *                   dropped and counted (README "virtio-net").
 */
#ifndef HV_DEV_H
#define HV_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"
#include "vm.h"

/* Register ports [first, last] / bytes [gpa, gpa + len) for a device.
 * -EEXIST when they overlap a registration (or RAM, for MMIO), -ENOSPC when
 * the table is full, -EINVAL for an empty or wrapping range. */
int vm_pio_register(struct vm *vm, uint16_t first, uint16_t last, hv_pio_fn fn, void *opaque,
		    const char *name);
int vm_mmio_register(struct vm *vm, uint64_t gpa, uint64_t len, hv_mmio_fn fn, void *opaque,
		     const char *name);

/*
 * Make guest writes to port / address `addr` (any access size) complete in
 * the host kernel: KVM_IOEVENTFD without data match, on a new eventfd that
 * nobody waits on (the counter saturates harmlessly).  0 or -errno
 * (-ENOTTY/-EINVAL when KVM has no ioeventfd support).
 */
int vm_ioeventfd_add(struct vm *vm, uint64_t addr, bool pio);
/* The same, and the eventfd in *fd_out for a thread to wait on (poll, then
 * read: the count of guest writes since the last read).  The VM owns it
 * (vm_destroy closes it). */
int vm_ioeventfd_add_fd(struct vm *vm, uint64_t addr, bool pio, int *fd_out);

/* Remove the MMIO registration that starts at gpa (a device detached while
 * no vCPU runs).  0 or -ENOENT. */
int vm_mmio_unregister(struct vm *vm, uint64_t gpa);

/* ------------------------------------------------------------ console */

#define HV_CONSOLE_LINE_MAX   200
#define HV_CONSOLE_BUDGET_DEF (64u * 1024) /* bytes logged per run by default */

struct hv_console {
	/* Receives each complete line (printable ASCII, NUL-terminated, no
	 * newline).  May be NULL: text is dropped. */
	void (*line)(void *arg, const char *text);
	void *arg;
	uint64_t budget; /* bytes that may still be logged */
	uint64_t logged, dropped;
	unsigned len;
	char buf[HV_CONSOLE_LINE_MAX + 1];
};

/* Attach a console to vm at COM1 and port 0xe9, logging at most `budget`
 * bytes (0 = HV_CONSOLE_BUDGET_DEF).  The console must outlive the VM. */
int dev_console_attach(struct vm *vm, struct hv_console *con, uint64_t budget,
		       void (*line)(void *arg, const char *text), void *arg);

/* Emit a partial last line (call when the run ended). */
void dev_console_flush(struct hv_console *con);

/* ------------------------------------------------------------ hvbench device */

struct hv_hvb {
	/*
	 * A record arrived (read from guest memory through the checked
	 * accessor; content NOT validated: that is the consumer's job).  Return
	 * 0 to continue, or non-zero with a reason in `why` to end the run as a
	 * guest error.  Runs on the vCPU thread with the vCPU stopped.
	 */
	int (*record)(void *arg, struct vcpu *vcpu, const struct hvb_record *rec, char *why,
		      size_t len);
	void *arg;
	bool kern_ioeventfds; /* BENCH_KERN port and MMIO writes are ioeventfds */
	uint64_t n_records, n_released, bytes_released;
	uint64_t kern_fallbacks; /* BENCH_KERN accesses that reached userspace */
};

/*
 * Attach the hvbench device: ports HVB_PORT_FIRST..HVB_PORT_LAST, MMIO pages
 * HVB_MMIO_BENCH_USER and HVB_MMIO_BENCH_KERN, and (when KVM can) ioeventfds
 * for writes to HVB_PORT_BENCH_KERN and HVB_MMIO_BENCH_KERN, reported in
 * hvb->kern_ioeventfds.  The device must outlive the VM.
 *
 * Guest-visible behaviour:
 *   outl HVB_PORT_RECORD, gpa   read struct hvb_record at gpa (checked: must
 *                               be RAM) and hand it to record(); an
 *                               HVB_REC_RELEASE record with a valid header
 *                               first drops the backing of [u64[0], +u64[1])
 *                               (page aligned, RAM) -- a bad range ends the run
 *   out/in HVB_PORT_BENCH_USER  no-op in userspace (in reads 0)
 *   out HVB_PORT_BENCH_KERN     no-op in the host kernel (ioeventfd)
 *   out HVB_PORT_SHUTDOWN, v    the run ends: HV_SHUTDOWN with guest_code v
 *   MMIO HVB_MMIO_BENCH_USER    reads 0, writes ignored (userspace)
 *   MMIO HVB_MMIO_BENCH_KERN    writes absorbed in the kernel; reads 0
 */
int dev_hvb_attach(struct vm *vm, struct hv_hvb *hvb);

#endif
