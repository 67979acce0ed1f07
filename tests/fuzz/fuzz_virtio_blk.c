/*
 * Fuzzer: virtio-blk on virtio-mmio (hv/virtio.c, hv/virtio_blk.c) as a
 * hostile guest drives it.  Input (fuzz.h, FZ_*): a configuration byte,
 * then guest memory writes, register accesses, driver init sequences,
 * descriptors and requests, in any order.
 *
 * Guest RAM is a heap buffer (not an mmap), so ASan's redzones catch any
 * host access outside it; the device runs in sync mode (served inside
 * QueueNotify, no thread: deterministic) against a small scratch file, so
 * sectors past the end are common.  Properties checked besides the
 * sanitizers:
 *   - a register access that stops the run leaves a guest-error verdict
 *     naming the device;
 *   - the counters add up after every operation: every request either
 *     succeeded, failed with a status, or set DEVICE_NEEDS_RESET, and
 *     every malformed one is among the failed or the resets.
 * Not fuzzed here: the I/O thread's modes (threads make runs
 * non-deterministic); the unit tests cover them.
 */
#include "fuzz.h"

#include "fuzz_vm.h"
#include "hvb/abi.h"
#include "virtio_blk.h"
#include "unit/virtio_drv.h"

#define RAM  (256u << 10)
#define DISK (64u << 10)
#define DEVICE "virtio-blk"
#define BASE HVB_VIRTIO_MMIO_BASE

static int disk_fd = -1;
static uint8_t *ram; /* guest RAM: one heap block, ASan's redzones around it */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/dev/shm/hvb-fuzz-disk-XXXXXX";

	(void)argc, (void)argv;
	/* tmpfs where there is one: flushes and truncation cost nothing there.
	 * Unlinked at once, so nothing is left behind. */
	disk_fd = mkstemp(path);
	if (disk_fd >= 0)
		unlink(path);
	else
		disk_fd = open(fuzz_path("disk"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (disk_fd < 0 || ftruncate(disk_fd, DISK))
		abort();
	ram = fuzz_ram_alloc(RAM);
	return 0;
}

struct fuzz_vm {
	struct fuzz_guest g;
	struct drv d;
	bool inited;
	struct hv_virtio_blk *blk;
};

static void check_counters(struct fuzz_vm *f)
{
	struct hv_blk_stats s;
	uint64_t done;

	dev_virtio_blk_stats(f->blk, &s);
	done = s.reads + s.writes + s.flushes + s.get_ids + s.io_errors;
	FUZZ_CHECK(done <= s.requests && s.requests <= done + s.resets_needed);
	FUZZ_CHECK(s.bad_requests <= s.io_errors + s.resets_needed);
}

/* One operation; false: the run stopped. */
static bool op(struct fuzz_vm *f, struct fuzz_in *in)
{
	struct drv *d = &f->d;
	uint64_t v = 0;
	int r = HV_CONTINUE;
	unsigned opcode = (unsigned)(fuzz_take(in, 1) % FZ_N_OPS);

	if (fuzz_guest_op(&f->g, opcode, in, BASE, &r))
		return fuzz_guest_continues(&f->g, r, DEVICE);
	switch (opcode) {
	case FZ_INIT: {
		uint64_t features = fuzz_take(in, 8);
		drv_init(d, &f->g.vm, &f->g.vcpu, BASE, features,
			 (uint16_t)(1u << (fuzz_take(in, 1) % 11)));
		f->inited = true;
		r = f->g.vm.verdict.outcome == HV_RUNNING ? HV_CONTINUE : HV_STOP;
		break;
	}
	case FZ_REQ: {
		uint8_t first = (uint8_t)fuzz_take(in, 1);
		uint32_t type = (uint32_t)fuzz_take(in, 4);
		uint64_t sector = fuzz_take(in, 8), gpa = fuzz_take(in, 4);
		uint32_t seg_len = (uint32_t)fuzz_take(in, 4);
		unsigned nseg = (unsigned)fuzz_take(in, 1);
		if (!f->inited)
			break;
		drv_blk_req(d, (uint16_t)(first % d->num), type, sector, gpa, seg_len, nseg);
		r = mmio_access(&f->g.vm, &f->g.vcpu, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, &v, 4, true);
		break;
	}
	case FZ_DESC: {
		uint16_t i = (uint16_t)fuzz_take(in, 2);
		uint64_t addr = fuzz_take(in, 8);
		uint32_t len = (uint32_t)fuzz_take(in, 4);
		uint16_t flags = (uint16_t)fuzz_take(in, 2), next = (uint16_t)fuzz_take(in, 2);
		if (f->inited)
			drv_desc(d, (uint16_t)(i % d->num), addr, len, flags, next);
		break;
	}
	case FZ_PUB: {
		uint16_t head = (uint16_t)fuzz_take(in, 2);
		if (!f->inited)
			break;
		drv_publish(d, head);
		r = mmio_access(&f->g.vm, &f->g.vcpu, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, &v, 4, true);
		break;
	}
	}
	return fuzz_guest_continues(&f->g, r, DEVICE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_vm f;
	struct fuzz_in in = {data, size};
	struct hv_blk_config cfg;
	uint8_t conf = (uint8_t)fuzz_take(&in, 1);

	memset(&f, 0, sizeof(f));
	fuzz_guest_reset(&f.g, ram, RAM);
	if (ftruncate(disk_fd, 0) || ftruncate(disk_fd, DISK))
		abort();
	cfg = (struct hv_blk_config){
	    .fd = disk_fd,
	    .size_bytes = DISK,
	    .direct = conf & FZ_CFG_DIRECT,
	    .notify = HV_BLK_NOTIFY_SYNC,
	    .mmio_gpa = BASE,
	    .queue_size_max = 1u << (conf & 7),
	    .io_cpu = -1,
	};
	FUZZ_CHECK(!dev_virtio_blk_attach(&f.g.vm, &cfg, &f.blk));
	while (in.n && op(&f, &in))
		check_counters(&f);
	check_counters(&f);
	dev_virtio_blk_detach(f.blk);
	return 0;
}
