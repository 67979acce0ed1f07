/*
 * virtio-blk of the reference core (hv/virtio_blk.c) against a temporary
 * file, through its MMIO registers, on a VM without KVM (virtio_drv.h);
 * ioeventfd mode on a real VM where /dev/kvm exists.
 *
 * 1. attach: bad configurations are -EINVAL, a second device on the same
 *    window -EEXIST; config space and offered features.
 * 2. Good paths in sync mode (served inside QueueNotify): write, read
 *    back, multi-segment, header and data in one descriptor, flush,
 *    GET_ID (whole and cut short), several requests per notification,
 *    used lengths.
 * 3. Every malformed request: its status (IOERR / UNSUPP) or
 *    DEVICE_NEEDS_RESET, the counters, the file untouched; a device that
 *    needs a reset serves nothing until the driver resets it.
 * 4. The I/O thread: exit mode (QueueNotify wakes it), poll mode (no
 *    notifications, empty polls counted), ioeventfd mode (the eventfd
 *    KVM would signal), with the thread's seccomp filter on, and detach
 *    while requests keep coming.
 * 5. O_DIRECT: a guest buffer that is not 4096-aligned in host memory is
 *    bounced (counted), the data right either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev.h"
#include "exit.h"
#include "tap.h"
#include "virtio_blk.h"
#include "unit/virtio_drv.h"

#define BASE	   HVB_VIRTIO_MMIO_BASE
#define RAM	   (8ull << 20)
#define DISK	   (1ull << 20)
#define QSIZE	   16
#define FEATURES   ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH))
#define WAIT_MS	   5000
#define NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET

static char disk_path[256];

/* A disk file whose byte i is (i * 7 + i / 512) & 0xff. */
static int disk_open(const char *dir, int extra_flags)
{
	int fd;
	uint8_t *buf = malloc(DISK);

	snprintf(disk_path, sizeof(disk_path), "%s/hvb-virtio-blk-XXXXXX", dir);
	fd = mkstemp(disk_path);
	if (fd < 0 || !buf)
		return -1;
	for (uint64_t i = 0; i < DISK; i++)
		buf[i] = (uint8_t)(i * 7 + i / 512);
	if (pwrite(fd, buf, DISK, 0) != (ssize_t)DISK)
		fd = -1;
	free(buf);
	if (fd >= 0 && extra_flags) {
		int fd2 = open(disk_path, O_RDWR | extra_flags);
		close(fd);
		fd = fd2;
	}
	unlink(disk_path);
	return fd;
}

static uint8_t disk_byte(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 512);
}

struct fx {
	struct fake_vm *f;
	struct vm *vm;
	struct vcpu *vcpu;
	int fd;
	struct hv_virtio_blk *blk;
	struct drv d;
};

static struct hv_blk_config cfg_of(int fd, enum hv_blk_notify n)
{
	return (struct hv_blk_config){.fd = fd, .size_bytes = DISK, .notify = n,
				      .mmio_gpa = BASE, .queue_size_max = QSIZE, .io_cpu = -1};
}

static bool fx_up_cfg(struct fx *x, const struct hv_blk_config *cfg, uint64_t features)
{
	int r = dev_virtio_blk_attach(x->vm, cfg, &x->blk);

	if (r) {
		printf("#   attach: %s\n", strerror(-r));
		return false;
	}
	drv_init(&x->d, x->vm, x->vcpu, BASE, features, QSIZE);
	return true;
}

static bool fx_up(struct fx *x, enum hv_blk_notify n)
{
	struct hv_blk_config cfg;

	memset(x, 0, sizeof(*x));
	x->f = fake_vm_new(RAM);
	x->vm = &x->f->vm, x->vcpu = &x->f->vcpu;
	x->fd = disk_open(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", 0);
	cfg = cfg_of(x->fd, n);
	return x->f && x->fd >= 0 && fx_up_cfg(x, &cfg, FEATURES);
}

static void fx_down(struct fx *x)
{
	dev_virtio_blk_detach(x->blk);
	if (x->fd >= 0)
		close(x->fd);
	fake_vm_free(x->f);
}

static struct hv_blk_stats stats(struct fx *x)
{
	struct hv_blk_stats s;

	dev_virtio_blk_stats(x->blk, &s);
	return s;
}

static uint32_t dev_status(struct fx *x)
{
	return drv_rd(&x->d, VIRTIO_MMIO_STATUS);
}

/* Notify and wait for the used ring to reach idx (sync mode: at once). */
static bool kick_wait(struct fx *x, uint16_t idx)
{
	drv_notify(&x->d);
	return drv_wait_used(&x->d, idx, WAIT_MS);
}

static uint32_t used_len(struct fx *x, uint16_t idx)
{
	return x->d.used->ring[idx % QSIZE].len;
}

static bool guest_matches_disk(struct fx *x, uint64_t gpa, uint64_t off, uint64_t len)
{
	const uint8_t *p = gpa_ptr(x->vm, gpa);

	for (uint64_t i = 0; i < len; i++)
		if (p[i] != disk_byte(off + i))
			return false;
	return true;
}

/* The file holds len bytes val at off (an aligned buffer: fd may be O_DIRECT). */
static bool file_is(int fd, uint64_t off, uint8_t val, uint64_t len)
{
	static uint8_t buf[4096] __attribute__((aligned(4096)));

	if (len > sizeof(buf) || pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		return false;
	for (uint64_t i = 0; i < len; i++)
		if (buf[i] != val)
			return false;
	return true;
}

/* ------------------------------------------------------------ 1. attach */

static void test_attach(void)
{
	struct fake_vm *f = fake_vm_new(RAM);
	struct hv_virtio_blk *b = NULL, *b2 = NULL;
	struct hv_blk_config c = cfg_of(0, HV_BLK_NOTIFY_SYNC);
	struct fx x;
	uint64_t cap = 0;
	uint32_t v = 0;

	c.fd = -1;
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EINVAL, "attach: no fd: -EINVAL");
	c = cfg_of(0, HV_BLK_NOTIFY_SYNC), c.size_bytes = 1000;
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EINVAL, "size not 512-multiple");
	c = cfg_of(0, HV_BLK_NOTIFY_SYNC), c.queue_size_max = 12;
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EINVAL, "queue max not a power of 2");
	c = cfg_of(0, HV_BLK_NOTIFY_SYNC), c.queue_size_max = 2048;
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EINVAL, "queue max above 1024");
	c = cfg_of(0, HV_BLK_NOTIFY_SYNC), c.mmio_gpa = BASE + 8;
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EINVAL, "window not page aligned");
	c = cfg_of(0, (enum hv_blk_notify)9);
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EINVAL, "unknown notify mode");
	c = cfg_of(0, HV_BLK_NOTIFY_SYNC), c.mmio_gpa = 0x1000;
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), -EEXIST, "window over RAM: -EEXIST");
	c = cfg_of(0, HV_BLK_NOTIFY_SYNC);
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b), 0, "good config: attached");
	TAP_EQ_INT(dev_virtio_blk_attach(&f->vm, &c, &b2), -EEXIST, "same window twice: -EEXIST");
	TAP_EQ_INT(dev_virtio_blk_io_tid(b), 0, "sync mode: no I/O thread");
	TAP_EQ_STR(dev_virtio_blk_backend(b), "sync", "sync mode: synchronous I/O");
	dev_virtio_blk_detach(b);
	TAP_EQ_INT(f->vm.n_mmio, 0, "detach removes the window");
	dev_virtio_blk_detach(NULL);
	fake_vm_free(f);

	if (!fx_up(&x, HV_BLK_NOTIFY_SYNC)) {
		TAP_OK(0, "sync device up");
		return;
	}
	TAP_EQ_INT(drv_rd(&x.d, VIRTIO_MMIO_DEVICE_ID), 2, "DeviceID 2 (block)");
	drv_wr(&x.d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	v = drv_rd(&x.d, VIRTIO_MMIO_DEVICE_FEATURES);
	TAP_EQ_INT(v, (1u << VIRTIO_RING_F_EVENT_IDX) | (1u << VIRTIO_BLK_F_FLUSH) |
			  (1u << VIRTIO_BLK_F_SEG_MAX) | (1u << VIRTIO_BLK_F_BLK_SIZE),
		   "features: event index, flush, seg_max, blk_size (no indirect)");
	mmio_access(x.vm, x.vcpu, BASE + 0x100, &cap, 8, false);
	TAP_EQ_INT(cap, DISK / 512, "config capacity in sectors");
	mmio_access(x.vm, x.vcpu, BASE + 0x100 + 12, &v, 4, false);
	TAP_EQ_INT(v, QSIZE - 2, "config seg_max = queue size - 2");
	mmio_access(x.vm, x.vcpu, BASE + 0x100 + 20, &v, 4, false);
	TAP_EQ_INT(v, 512, "config blk_size 512");
	TAP_EQ_INT(dev_status(&x) & 0x4f, 0x0f, "driver init reaches DRIVER_OK");
	fx_down(&x);

	TAP_EQ_STR(hv_blk_notify_name(HV_BLK_NOTIFY_POLL), "poll", "notify names");
	enum hv_blk_notify n = HV_BLK_NOTIFY_SYNC;
	TAP_OK(!hv_blk_notify_parse("exit", &n) && n == HV_BLK_NOTIFY_EXIT, "parse 'exit'");
	TAP_EQ_INT(hv_blk_notify_parse("Exit", &n), -EINVAL, "parse is exact");
}

/* ------------------------------------------------------------ 2. good paths */

static void test_good_paths(void)
{
	struct fx x;
	struct drv *d = &x.d;
	struct hv_blk_stats s;
	uint16_t h;
	char id[32];

	if (!fx_up(&x, HV_BLK_NOTIFY_SYNC)) {
		TAP_OK(0, "sync device up");
		return;
	}
	h = drv_blk_req(d, 0, VIRTIO_BLK_T_IN, 8, DRV_DATA, 4096, 1);
	TAP_OK(kick_wait(&x, 1), "read: completed inside QueueNotify");
	TAP_EQ_INT(drv_status_byte(d, h), VIRTIO_BLK_S_OK, "... status OK");
	TAP_OK(guest_matches_disk(&x, DRV_DATA, 8 * 512, 4096), "... guest got the file's bytes");
	TAP_EQ_INT(used_len(&x, 0), 4097, "... used len = data + status");

	memset(gpa_ptr(x.vm, DRV_DATA), 0xab, 3 * 4096);
	h = drv_blk_req(d, 3, VIRTIO_BLK_T_OUT, 100, DRV_DATA, 4096, 3);
	TAP_OK(kick_wait(&x, 2) && drv_status_byte(d, h) == VIRTIO_BLK_S_OK,
	       "3-segment write: OK");
	TAP_OK(file_is(x.fd, 100 * 512, 0xab, 4096) && file_is(x.fd, 100 * 512 + 8192, 0xab, 4096),
	       "... all three segments in the file");
	TAP_EQ_INT(used_len(&x, 1), 1, "... used len = status only");
	memset(gpa_ptr(x.vm, DRV_DATA), 0, 3 * 4096);
	h = drv_blk_req(d, 8, VIRTIO_BLK_T_IN, 100, DRV_DATA, 1024, 12);
	TAP_OK(kick_wait(&x, 3) && drv_status_byte(d, h) == VIRTIO_BLK_S_OK,
	       "12-segment read (seg_max - 2 = 14 allowed): OK");
	TAP_OK(file_is(x.fd, 100 * 512, 0xab, 4096), "... and it read back what was written");
	TAP_OK(((uint8_t *)gpa_ptr(x.vm, DRV_DATA))[12 * 1024 - 1] == 0xab, "... into every segment");

	/* Header and data in one descriptor, status alone (any layout). */
	{
		struct virtio_blk_outhdr *hd = gpa_ptr(x.vm, DRV_DATA);
		memset(hd + 1, 0x5c, 512);
		hd->type = VIRTIO_BLK_T_OUT, hd->sector = 3;
		drv_desc(d, 0, DRV_DATA, 16 + 512, VRING_DESC_F_NEXT, 1);
		drv_desc(d, 1, DRV_STATUS, 1, VRING_DESC_F_WRITE, 0);
		drv_publish(d, 0);
		TAP_OK(kick_wait(&x, 4) && drv_status_byte(d, 0) == VIRTIO_BLK_S_OK,
		       "header + data in one descriptor: OK");
		TAP_OK(file_is(x.fd, 3 * 512, 0x5c, 512), "... data written");
	}

	h = drv_blk_req(d, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
	TAP_OK(kick_wait(&x, 5) && drv_status_byte(d, h) == VIRTIO_BLK_S_OK, "flush: OK");
	h = drv_blk_req(d, 2, VIRTIO_BLK_T_GET_ID, 0, DRV_DATA, 20, 1);
	TAP_OK(kick_wait(&x, 6) && drv_status_byte(d, h) == VIRTIO_BLK_S_OK, "GET_ID: OK");
	memcpy(id, gpa_ptr(x.vm, DRV_DATA), 20), id[20] = 0;
	TAP_EQ_STR(id, "hvbench-virtio-blk", "... the serial");
	TAP_EQ_INT(used_len(&x, 5), 21, "... used len 20 + 1");
	memset(gpa_ptr(x.vm, DRV_DATA), 0, 20);
	h = drv_blk_req(d, 2, VIRTIO_BLK_T_GET_ID, 0, DRV_DATA, 7, 1);
	TAP_OK(kick_wait(&x, 7) && drv_status_byte(d, h) == VIRTIO_BLK_S_OK,
	       "GET_ID into 7 bytes: OK");
	TAP_OK(!memcmp(gpa_ptr(x.vm, DRV_DATA), "hvbench\0", 8), "... cut to 7 bytes");

	/* Several requests, one notification. */
	for (uint16_t i = 0; i < 5; i++)
		drv_blk_req(d, (uint16_t)(3 * i), VIRTIO_BLK_T_IN, i, DRV_DATA + 4096ull * i, 512, 1);
	TAP_OK(kick_wait(&x, 12), "five requests, one QueueNotify: all served");
	TAP_OK(guest_matches_disk(&x, DRV_DATA + 4 * 4096, 4 * 512, 512), "... the last one right");
	s = stats(&x);
	TAP_OK(s.requests == 12 && s.reads == 7 && s.writes == 2 && s.flushes == 1 &&
		   s.get_ids == 2 && s.io_errors == 0 && s.bad_requests == 0,
	       "stats: requests, reads, writes, flushes, get_ids; no errors");
	TAP_EQ_INT(s.bytes_read, 4096 + 12 * 1024 + 5 * 512, "stats: bytes read");
	TAP_EQ_INT(s.bytes_written, 3 * 4096 + 512, "stats: bytes written");
	TAP_EQ_INT(s.notifies, 8, "stats: one notify per QueueNotify");
	fx_down(&x);

	/* Event index: after a pass the device asks for the next entry. */
	if (fx_up(&x, HV_BLK_NOTIFY_SYNC)) {
		uint16_t ev;
		drv_init(&x.d, x.vm, x.vcpu, BASE, FEATURES | (1ull << VIRTIO_RING_F_EVENT_IDX),
			 QSIZE);
		d->avail->ring[QSIZE] = 0; /* used_event */
		drv_blk_req(d, 0, VIRTIO_BLK_T_IN, 0, DRV_DATA, 512, 1);
		drv_blk_req(d, 3, VIRTIO_BLK_T_IN, 0, DRV_DATA, 512, 1);
		kick_wait(&x, 2);
		memcpy(&ev, (uint8_t *)d->used + 4 + 8 * QSIZE, 2);
		TAP_EQ_INT(ev, 2, "event index: avail_event = 2 after two requests");
		TAP_OK(drv_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & 1,
		       "... InterruptStatus bit 0 (used_event 0 passed)");
		fx_down(&x);
	}
}

/* ------------------------------------------------------------ 3. malformed */

/* Status of a request with descriptors [0..n) as given (chain 0), in sync mode. */
static int one(struct fx *x, unsigned n, const struct vring_desc *descs)
{
	uint16_t before = drv_used_idx(&x->d);

	for (unsigned i = 0; i < n; i++)
		x->d.desc[i] = descs[i];
	*(uint8_t *)gpa_ptr(x->vm, DRV_STATUS) = 0xff;
	drv_publish(&x->d, 0);
	drv_notify(&x->d);
	if (drv_used_idx(&x->d) != (uint16_t)(before + 1))
		return -1; /* not completed */
	return drv_status_byte(&x->d, 0);
}

static bool file_is_guest_pattern(struct vm *vm)
{
	const uint8_t *p = gpa_ptr(vm, DRV_DATA);

	for (int i = 0; i < 8192; i++)
		if (p[i] != 0xee)
			return false;
	return true;
}

static bool file_sector_intact(int fd, uint64_t sector)
{
	uint8_t b[512];
	bool same = pread(fd, b, 512, (off_t)(sector * 512)) == 512;

	for (int i = 0; same && i < 512; i++)
		same = b[i] == disk_byte(sector * 512 + (uint64_t)i);
	return same;
}

#define HDR(t, sec)                                                                                \
	({                                                                                         \
		struct virtio_blk_outhdr *h_ = gpa_ptr(x.vm, DRV_HDRS);                            \
		h_->type = (t), h_->sector = (sec), h_->ioprio = 0;                                \
		(struct vring_desc){DRV_HDRS, 16, VRING_DESC_F_NEXT, 1};                           \
	})
#define DATA(gpa, len, w, nx) ((struct vring_desc){(gpa), (len), (uint16_t)((w) | VRING_DESC_F_NEXT), (nx)})
#define STATUS		      ((struct vring_desc){DRV_STATUS, 1, VRING_DESC_F_WRITE, 0})
#define W		      VRING_DESC_F_WRITE

static void test_malformed(void)
{
	struct fx x;
	struct hv_blk_stats s;
	char why[160];
	const uint64_t last = DISK / 512;

	if (!fx_up(&x, HV_BLK_NOTIFY_SYNC)) {
		TAP_OK(0, "sync device up");
		return;
	}
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 512, W, 2), STATUS}),
		   VIRTIO_BLK_S_OK, "baseline: a good read");
	memset(gpa_ptr(x.vm, DRV_DATA), 0xee, 8192);
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){{DRV_HDRS, 8, VRING_DESC_F_NEXT, 1},
						    DATA(DRV_DATA, 512, W, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "header of 8 bytes then writable data: IOERR");
	TAP_EQ_INT(one(&x, 2, (struct vring_desc[]){{DRV_HDRS, 12, VRING_DESC_F_NEXT, 1}, STATUS}),
		   VIRTIO_BLK_S_IOERR, "request of 12 header bytes only: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){{DRV_HDRS, 16, W | VRING_DESC_F_NEXT, 1},
						    DATA(DRV_DATA, 512, W, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "header in a device-writable buffer: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 512, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "read into a device-readable buffer: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, 0), DATA(DRV_DATA, 512, W, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "write from a device-writable buffer: IOERR");
	TAP_EQ_INT(one(&x, 4, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, 0), DATA(DRV_DATA, 512, 0, 2),
						    DATA(DRV_DATA, 512, W, 3), STATUS}),
		   VIRTIO_BLK_S_IOERR, "data of mixed directions: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, 0), DATA(RAM - 256, 512, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "data straddling the end of RAM: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(1ull << 40, 512, W, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "data far outside RAM: IOERR");
	TAP_EQ_INT(one(&x, 4, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 0, W, 2),
						    DATA(DRV_DATA, 512, W, 3), STATUS}),
		   VIRTIO_BLK_S_IOERR, "a zero-length data buffer: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, last), DATA(DRV_DATA, 512, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "write at the sector after the last: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, last - 1), DATA(DRV_DATA, 1024, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "write running past the end: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, 1ull << 55), DATA(DRV_DATA, 512, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "sector * 512 overflowing 64 bits: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, ~0ull), DATA(DRV_DATA, 512, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "sector 2^64 - 1: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_OUT, 0), DATA(DRV_DATA, 100, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "write of 100 bytes (not whole sectors): IOERR");
	TAP_EQ_INT(one(&x, 2, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), STATUS}),
		   VIRTIO_BLK_S_IOERR, "read without data: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_FLUSH, 0), DATA(DRV_DATA, 512, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "flush with data: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_GET_ID, 0), DATA(DRV_DATA, 20, 0, 2), STATUS}),
		   VIRTIO_BLK_S_IOERR, "GET_ID into a readable buffer: IOERR");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_DISCARD, 0), DATA(DRV_DATA, 16, 0, 2), STATUS}),
		   VIRTIO_BLK_S_UNSUPP, "DISCARD (not offered): UNSUPP");
	TAP_EQ_INT(one(&x, 2, (struct vring_desc[]){HDR(0x7777, 0), STATUS}),
		   VIRTIO_BLK_S_UNSUPP, "unknown type: UNSUPP");
	TAP_OK(file_is_guest_pattern(x.vm), "the failed requests wrote nothing into the guest");
	TAP_OK(file_sector_intact(x.fd, 0) && file_sector_intact(x.fd, last - 1) &&
		   file_sector_intact(x.fd, last - 2),
	       "... nor into the file");
	s = stats(&x);
	TAP_EQ_INT(s.requests, 20, "stats: 20 requests");
	TAP_EQ_INT(s.io_errors, 19, "stats: 19 failed");
	TAP_EQ_INT(s.bad_requests, 19, "stats: 19 malformed");
	TAP_EQ_INT(dev_status(&x) & NEEDS_RESET, 0, "none of that needed a reset");

	TAP_EQ_INT(one(&x, 2, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), {DRV_DATA, 512, 0, 0} /* no status */}),
		   -1, "last buffer readable (no status byte): not completed");
	TAP_OK(dev_status(&x) & NEEDS_RESET, "... DEVICE_NEEDS_RESET");
	dev_virtio_blk_status(x.blk, why, sizeof(why));
	if (!TAP_OK(strstr(why, "status byte") != NULL, "... saying why"))
		printf("#   why: %s\n", why);
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 512, W, 2), STATUS}),
		   -1, "a device that needs a reset serves nothing");
	drv_init(&x.d, x.vm, x.vcpu, BASE, FEATURES, QSIZE);
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 512, W, 2), STATUS}),
		   VIRTIO_BLK_S_OK, "after reset and re-init it serves again");
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 512, W, 2),
						    {RAM, 1, W, 0}}),
		   -1, "status byte outside RAM: not completed, NEEDS_RESET");
	TAP_OK(dev_status(&x) & NEEDS_RESET, "... NEEDS_RESET");
	drv_init(&x.d, x.vm, x.vcpu, BASE, FEATURES, QSIZE);
	TAP_EQ_INT(one(&x, 3, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), DATA(DRV_DATA, 512, W, 2),
						    {DRV_STATUS, 0, W, 0}}),
		   -1, "status buffer of length 0: NEEDS_RESET");
	drv_init(&x.d, x.vm, x.vcpu, BASE, FEATURES, QSIZE);
	TAP_EQ_INT(one(&x, 2, (struct vring_desc[]){HDR(VIRTIO_BLK_T_IN, 0), {DRV_DATA, 512, VRING_DESC_F_NEXT, 0}}),
		   -1, "a chain looping on itself: NEEDS_RESET");
	TAP_OK(dev_status(&x) & NEEDS_RESET, "... NEEDS_RESET");
	s = stats(&x);
	TAP_EQ_INT(s.resets_needed, 4, "stats: four resets needed");
	TAP_EQ_INT(x.vm->verdict.outcome, HV_RUNNING, "nothing stopped the run");
	fx_down(&x);
}

/* ------------------------------------------------------------ 4. the I/O thread */

static void test_thread_mode(enum hv_blk_notify mode, bool seccomp)
{
	struct hv_blk_config cfg;
	struct fx x;
	struct drv *d = &x.d;
	struct hv_blk_stats s;
	char name[96];
	bool ok = true;

	memset(&x, 0, sizeof(x));
	x.f = fake_vm_new(RAM);
	x.vm = &x.f->vm, x.vcpu = &x.f->vcpu;
	x.fd = disk_open("/tmp", 0);
	cfg = cfg_of(x.fd, mode);
	cfg.seccomp = seccomp;
	snprintf(name, sizeof(name), "%s%s", hv_blk_notify_name(mode), seccomp ? " + seccomp" : "");
	if (!TAP_OK(fx_up_cfg(&x, &cfg, FEATURES), name))
		return;
	TAP_OK(dev_virtio_blk_io_tid(x.blk) > 0, "... an I/O thread with a tid");
	for (uint16_t i = 0; i < 40 && ok; i++) {
		uint16_t h = drv_blk_req(d, (uint16_t)(3 * (i % 5)),
					 i % 3 == 2 ? VIRTIO_BLK_T_FLUSH : i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
					 i, DRV_DATA + 4096ull * (i % 5), i % 3 == 2 ? 0 : 512, i % 3 != 2);
		if (mode != HV_BLK_NOTIFY_POLL)
			drv_notify(d);
		ok = drv_wait_used(d, (uint16_t)(i + 1), WAIT_MS) &&
		     drv_status_byte(d, h) == VIRTIO_BLK_S_OK;
	}
	TAP_OK(ok, "... 40 reads, writes and flushes served by the thread");
	s = stats(&x);
	TAP_OK(s.requests == 40 && s.io_errors == 0, "... counted, no errors");
	if (mode == HV_BLK_NOTIFY_POLL) {
		TAP_EQ_INT(d->used->flags, VRING_USED_F_NO_NOTIFY, "... poll: VRING_USED_F_NO_NOTIFY");
		TAP_OK(s.polls_empty > 0, "... poll: empty polls counted");
		TAP_EQ_INT(s.notifies, 0, "... poll: no notifications");
	} else {
		TAP_EQ_INT(s.notifies, 40, "... one notification per request");
	}
	if (seccomp) {
		char path[64], line[128];
		int filtered = -1;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", dev_virtio_blk_io_tid(x.blk));
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			sscanf(line, "Seccomp: %d", &filtered);
		if (f)
			fclose(f);
		TAP_EQ_INT(filtered, 2, "... the I/O thread runs under its seccomp filter");
		f = fopen("/proc/self/status", "r");
		filtered = -1;
		while (f && fgets(line, sizeof(line), f))
			sscanf(line, "Seccomp: %d", &filtered);
		if (f)
			fclose(f);
		TAP_EQ_INT(filtered, 0, "... and only it");
	}
	fx_down(&x);
}

/*
 * Depth: 12 requests published at once, one notification: the thread
 * keeps them in flight through Linux AIO (truly asynchronous with
 * O_DIRECT), completes every one (in any order) with the right data; a
 * flush behind four writes completes after them.
 */
static void test_depth(enum hv_blk_notify mode, bool direct)
{
	struct hv_blk_config cfg;
	struct fx x;
	struct drv *d = &x.d;
	bool seen[QSIZE] = {0}, ok = true, data_ok = true;
	char name[96];
	uint16_t flush_head;

	memset(&x, 0, sizeof(x));
	x.f = fake_vm_new(RAM);
	x.vm = &x.f->vm, x.vcpu = &x.f->vcpu;
	x.fd = disk_open("/var/tmp", direct ? O_DIRECT : 0);
	snprintf(name, sizeof(name), "depth, %s%s", hv_blk_notify_name(mode),
		 direct ? ", O_DIRECT" : "");
	if (x.fd < 0) {
		TAP_SKIP("depth with O_DIRECT: /var/tmp refuses it");
		fake_vm_free(x.f);
		return;
	}
	cfg = cfg_of(x.fd, mode);
	cfg.direct = direct;
	cfg.queue_size_max = 64;
	if (!TAP_OK(dev_virtio_blk_attach(x.vm, &cfg, &x.blk) == 0, name))
		return;
	drv_init(d, x.vm, x.vcpu, BASE, FEATURES, QSIZE);
	TAP_EQ_STR(dev_virtio_blk_backend(x.blk), "linux-aio", "... backend linux-aio");
	for (uint16_t i = 0; i < 4; i++) /* 4 reads, 4 writes (3 descriptors each: 12 slots) */
		drv_blk_req(d, (uint16_t)(3 * i), VIRTIO_BLK_T_IN, 8u * i, DRV_DATA + 4096ull * i, 4096, 1);
	if (mode != HV_BLK_NOTIFY_POLL)
		drv_notify(d);
	ok = drv_wait_used(d, 4, WAIT_MS);
	for (uint16_t i = 0; i < 4 && ok; i++) {
		uint16_t id = (uint16_t)d->used->ring[i].id;
		ok = id < QSIZE && !seen[id] && d->used->ring[i].len == 4097 &&
		     drv_status_byte(d, id) == VIRTIO_BLK_S_OK;
		if (id < QSIZE)
			seen[id] = true;
	}
	for (uint16_t i = 0; i < 4; i++)
		data_ok = data_ok && guest_matches_disk(&x, DRV_DATA + 4096ull * i, 8u * 512 * i, 4096);
	TAP_OK(ok, "... 4 reads published at once: each completed once, OK");
	if (mode == HV_BLK_NOTIFY_EXIT)
		TAP_EQ_INT(stats(&x).max_in_flight, 4, "... all 4 in flight at once (one notify)");
	TAP_OK(data_ok, "... each with its own sectors");
	for (uint16_t i = 0; i < 4; i++) {
		memset(gpa_ptr(x.vm, DRV_DATA + 0x10000 + 4096ull * i), 0x30 + i, 4096);
		drv_blk_req(d, (uint16_t)(3 * i), VIRTIO_BLK_T_OUT, 200u + 8 * i,
			    DRV_DATA + 0x10000 + 4096ull * i, 4096, 1);
	}
	flush_head = drv_blk_req(d, 12, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
	if (mode != HV_BLK_NOTIFY_POLL)
		drv_notify(d);
	ok = drv_wait_used(d, 9, WAIT_MS);
	TAP_OK(ok && d->used->ring[8 % QSIZE].id == flush_head &&
		   drv_status_byte(d, flush_head) == VIRTIO_BLK_S_OK,
	       "... 4 writes and a flush: the flush completes last");
	ok = true;
	for (uint16_t i = 0; i < 4; i++)
		ok = ok && file_is(x.fd, (200u + 8 * i) * 512, (uint8_t)(0x30 + i), 4096);
	TAP_OK(ok, "... the writes are in the file");
	TAP_EQ_INT(stats(&x).io_errors, 0, "... no errors");
	fx_down(&x);
}

/* The thread is stopped and joined while requests keep coming. */
static void test_detach_busy(void)
{
	struct hv_blk_config cfg;
	struct fx x;

	memset(&x, 0, sizeof(x));
	x.f = fake_vm_new(RAM);
	x.vm = &x.f->vm, x.vcpu = &x.f->vcpu;
	x.fd = disk_open("/tmp", 0);
	cfg = cfg_of(x.fd, HV_BLK_NOTIFY_POLL);
	if (!TAP_OK(fx_up_cfg(&x, &cfg, FEATURES), "poll device for detach"))
		return;
	for (int i = 0; i < QSIZE / 3; i++)
		drv_blk_req(&x.d, (uint16_t)(3 * i), VIRTIO_BLK_T_IN, 0, DRV_DATA, 4096, 1);
	dev_virtio_blk_detach(x.blk);
	x.blk = NULL;
	TAP_OK(1, "detach returned with requests in flight (poll mode)");
	fx_down(&x);
}

/* ioeventfd: needs a real VM for KVM_IOEVENTFD; the test signals the
 * eventfd itself, as KVM does for a guest write to QueueNotify. */
static void test_ioeventfd(void)
{
	struct hv_blk_config cfg;
	struct hv_blk_stats s;
	struct vm *vm;
	struct vcpu vcpu = {0};
	struct hv_virtio_blk *blk;
	struct drv d;
	uint64_t one = 1;
	int fd, efd, r;

	r = vm_create(&vm, NULL);
	if (r) {
		TAP_SKIP("ioeventfd mode: no /dev/kvm here");
		return;
	}
	vm_mem_add(vm, 0, RAM);
	vcpu.vm = vm, vcpu.fd = -1;
	fd = disk_open("/tmp", 0);
	cfg = cfg_of(fd, HV_BLK_NOTIFY_IOEVENTFD);
	r = dev_virtio_blk_attach(vm, &cfg, &blk);
	if (r == -ENOTTY || r == -EINVAL) {
		TAP_SKIP("ioeventfd mode: KVM without ioeventfds");
		goto out;
	}
	TAP_EQ_INT(r, 0, "ioeventfd: attached on a real VM");
	if (r)
		goto out;
	efd = vm->ioeventfds[vm->n_ioeventfds - 1];
	drv_init(&d, vm, &vcpu, BASE, FEATURES, QSIZE);
	drv_blk_req(&d, 0, VIRTIO_BLK_T_IN, 2, DRV_DATA, 512, 1);
	TAP_OK(write(efd, &one, 8) == 8 && drv_wait_used(&d, 1, WAIT_MS),
	       "... the eventfd wakes the thread, the request is served");
	drv_blk_req(&d, 3, VIRTIO_BLK_T_IN, 3, DRV_DATA, 512, 1);
	drv_notify(&d); /* a write that reached userspace anyway */
	TAP_OK(drv_wait_used(&d, 2, WAIT_MS), "... a QueueNotify exit is served too");
	dev_virtio_blk_stats(blk, &s);
	TAP_EQ_INT(s.notifies, 2, "... notifications counted (eventfd count + exit)");
	dev_virtio_blk_detach(blk);
out:
	close(fd);
	vm_destroy(vm);
}

/* ------------------------------------------------------------ 5. O_DIRECT */

static void test_direct(void)
{
	struct hv_blk_config cfg;
	struct fx x;
	struct hv_blk_stats s;
	const char *dir = "/var/tmp";

	memset(&x, 0, sizeof(x));
	x.f = fake_vm_new(RAM);
	x.vm = &x.f->vm, x.vcpu = &x.f->vcpu;
	x.fd = disk_open(dir, O_DIRECT);
	if (x.fd < 0) {
		TAP_SKIP("O_DIRECT: /var/tmp refuses it");
		fake_vm_free(x.f);
		return;
	}
	cfg = cfg_of(x.fd, HV_BLK_NOTIFY_SYNC);
	cfg.direct = true;
	fx_up_cfg(&x, &cfg, FEATURES);
	drv_blk_req(&x.d, 0, VIRTIO_BLK_T_IN, 4, DRV_DATA, 4096, 1);
	TAP_OK(kick_wait(&x, 1) && drv_status_byte(&x.d, 0) == VIRTIO_BLK_S_OK &&
		   guest_matches_disk(&x, DRV_DATA, 4 * 512, 4096),
	       "O_DIRECT: page-aligned read OK");
	TAP_EQ_INT(stats(&x).bounced, 0, "... not bounced");
	drv_blk_req(&x.d, 3, VIRTIO_BLK_T_IN, 9, DRV_DATA + 512, 1024, 2);
	TAP_OK(kick_wait(&x, 2) && drv_status_byte(&x.d, 3) == VIRTIO_BLK_S_OK &&
		   guest_matches_disk(&x, DRV_DATA + 512, 9 * 512, 2048),
	       "O_DIRECT: read into a buffer at page offset 512: OK");
	memset(gpa_ptr(x.vm, DRV_DATA + 100), 0x77, 512);
	drv_blk_req(&x.d, 6, VIRTIO_BLK_T_OUT, 20, DRV_DATA + 100, 512, 1);
	TAP_OK(kick_wait(&x, 3) && drv_status_byte(&x.d, 6) == VIRTIO_BLK_S_OK,
	       "O_DIRECT: write from an odd address: OK");
	memset(gpa_ptr(x.vm, DRV_DATA + 8192), 0, 512);
	drv_blk_req(&x.d, 9, VIRTIO_BLK_T_IN, 20, DRV_DATA + 8192, 512, 1);
	TAP_OK(kick_wait(&x, 4) && ((uint8_t *)gpa_ptr(x.vm, DRV_DATA + 8192))[511] == 0x77,
	       "... read back: the bounced write reached the file");
	s = stats(&x);
	TAP_EQ_INT(s.bounced, 2, "... the two unaligned ones bounced and counted");
	fx_down(&x);
}

int main(void)
{
	test_attach();
	test_good_paths();
	test_malformed();
	test_thread_mode(HV_BLK_NOTIFY_EXIT, false);
	test_thread_mode(HV_BLK_NOTIFY_POLL, false);
	test_thread_mode(HV_BLK_NOTIFY_EXIT, true);
	test_thread_mode(HV_BLK_NOTIFY_POLL, true);
	test_depth(HV_BLK_NOTIFY_EXIT, false);
	test_depth(HV_BLK_NOTIFY_EXIT, true);
	test_depth(HV_BLK_NOTIFY_POLL, true);
	test_detach_busy();
	test_ioeventfd();
	test_direct();
	return tap_done();
}
