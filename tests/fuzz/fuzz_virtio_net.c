/*
 * Fuzzer: virtio-net on virtio-mmio (hv/virtio.c, hv/virtio_net.c) as a
 * hostile guest drives it.  Input (fuzz.h, FZ_* with virtio-net operands):
 * a configuration byte, then guest memory writes, register accesses,
 * driver init sequences, descriptors on either queue and frames, in any
 * order.
 *
 * Guest RAM is a heap buffer (not an mmap), so ASan's redzones catch any
 * host access outside it.  The device is the loopback in sync mode
 * (served inside QueueNotify, no thread: deterministic): every transmitted
 * chain is checked, and a good frame is reflected into a receive buffer,
 * so both queues' parsers run.  Properties checked besides the sanitizers:
 *   - a register access that stops the run leaves a guest-error verdict
 *     naming the device;
 *   - the counters add up after every operation: every good frame the
 *     loopback took came back or was dropped (rx_frames + rx_dropped ==
 *     tx_frames), and as many bytes came back as went out, or fewer;
 *   - every frame that went out was 14..MTU + 14 bytes long (the used
 *     ring is guest memory, so the guest's own view proves nothing).
 * Not fuzzed here: the tap backend and the I/O thread's modes (threads and
 * a socket make runs non-deterministic); the unit tests cover them.
 */
#include "fuzz.h"

#include "exit.h"
#include "hvb/abi.h"
#include "virtio_net.h"
#include "unit/virtio_net_drv.h"

#define RAM  NDRV_RAM_MIN
#define BASE HVB_VIRTIO_MMIO_NET

static uint8_t *ram; /* guest RAM: one heap block, ASan's redzones around it */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ram = aligned_alloc(4096, RAM);
	if (!ram)
		abort();
	return 0;
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

struct fuzz_vm {
	struct vm vm;
	struct vcpu vcpu;
	struct kvm_run run;
	struct ndrv d;
	bool inited;
	unsigned frame_max;
	struct hv_virtio_net *net;
};

static void check_counters(struct fuzz_vm *f)
{
	struct hv_net_stats s;

	dev_virtio_net_stats(f->net, &s);
	FUZZ_CHECK(s.rx_frames + s.rx_dropped == s.tx_frames);
	FUZZ_CHECK(s.rx_bytes <= s.tx_bytes);
	FUZZ_CHECK(s.tx_bytes <= s.tx_frames * f->frame_max);
	FUZZ_CHECK(s.tx_bytes >= s.tx_frames * 14); /* nothing shorter than Ethernet went out */
	FUZZ_CHECK(!s.tx_errors && !s.kernel_datapath);
}

/* A frame in transmit slot `slot` (len bytes after a 12-byte header). */
static void put_frame(struct fuzz_vm *f, uint16_t slot, uint16_t len, uint8_t kind)
{
	uint8_t *p = gpa_ptr(&f->vm, NDRV_TXBUF(slot % f->d.num));
	uint16_t max = NDRV_BUF - NDRV_HDR;

	len = len > max ? max : len;
	memset(p, kind & 2 ? 0x5a : 0, NDRV_HDR);
	for (unsigned i = 0; i < len; i++)
		p[NDRV_HDR + i] = (uint8_t)(i * 7 + kind);
	if ((kind & 1) && len >= 38) {
		p[NDRV_HDR + 12] = 0x08, p[NDRV_HDR + 13] = 0x00;
		p[NDRV_HDR + 14] = (uint8_t)(0x40 | ((kind >> 2) & 0xf));
		p[NDRV_HDR + 23] = 17;
	}
	ndrv_desc(&f->d, 1, slot, NDRV_TXBUF(slot % f->d.num), NDRV_HDR + len, 0, 0);
	ndrv_publish(&f->d, 1, (uint16_t)(slot % f->d.num));
}

static int op_req(struct fuzz_vm *f, struct in *in)
{
	uint16_t slot = (uint16_t)take(in, 1), len = (uint16_t)take(in, 2);
	uint16_t rx_len = (uint16_t)take(in, 2);
	uint8_t kind = (uint8_t)take(in, 1);

	if (!f->inited)
		return HV_CONTINUE;
	if (rx_len) {
		uint16_t i = (uint16_t)(slot % f->d.num);
		ndrv_desc(&f->d, 0, i, NDRV_RXBUF(i), rx_len > NDRV_BUF ? NDRV_BUF : rx_len,
			  VRING_DESC_F_WRITE, 0);
		ndrv_publish(&f->d, 0, i);
	}
	put_frame(f, slot, len, kind);
	return ndrv_notify(&f->d, 1);
}

/* One operation; false: the run stopped. */
static bool op(struct fuzz_vm *f, struct in *in)
{
	struct ndrv *d = &f->d;
	uint64_t v = 0;
	int r = HV_CONTINUE;

	switch (take(in, 1) % FZ_N_OPS) {
	case FZ_MEM: {
		uint64_t gpa = take(in, 4) % RAM, n = take(in, 1);
		if (n > RAM - gpa)
			n = RAM - gpa;
		if (n > in->n)
			n = in->n;
		memcpy(gpa_ptr(&f->vm, gpa), in->p, n);
		in->p += n, in->n -= n;
		break;
	}
	case FZ_WR: {
		uint64_t off = take(in, 2) % 0x1000;
		unsigned len = 1u << (take(in, 1) & 3);
		v = take(in, 8);
		r = mmio_access(&f->vm, &f->vcpu, BASE + off, &v, len, true);
		break;
	}
	case FZ_RD: {
		uint64_t off = take(in, 2) % 0x1000;
		r = mmio_access(&f->vm, &f->vcpu, BASE + off, &v, 1u << (take(in, 1) & 3), false);
		break;
	}
	case FZ_INIT: {
		uint64_t features = take(in, 8);
		ndrv_init(d, &f->vm, &f->vcpu, BASE, features, (uint16_t)(1u << (take(in, 1) % 9)));
		f->inited = true;
		r = f->vm.verdict.outcome == HV_RUNNING ? HV_CONTINUE : HV_STOP;
		break;
	}
	case FZ_REQ:
		r = op_req(f, in);
		break;
	case FZ_DESC: {
		unsigned q = (unsigned)take(in, 1) & 1;
		uint16_t i = (uint16_t)take(in, 2);
		uint64_t addr = take(in, 8);
		uint32_t len = (uint32_t)take(in, 4);
		uint16_t flags = (uint16_t)take(in, 2), next = (uint16_t)take(in, 2);
		if (f->inited)
			ndrv_desc(d, q, i, addr, len, flags, next);
		break;
	}
	case FZ_PUB: {
		unsigned q = (unsigned)take(in, 1);
		uint16_t head = (uint16_t)take(in, 2);
		if (!f->inited)
			break;
		ndrv_publish(d, q & 1, head);
		r = ndrv_notify(d, q & 3);
		break;
	}
	}
	if (r < 0)
		return false; /* crosses the window's end: hv/exit.c stops the run */
	if (r != HV_CONTINUE) {
		FUZZ_CHECK(f->vm.verdict.outcome == HV_GUEST_ERROR);
		FUZZ_CHECK(strstr(f->vm.verdict.msg, "virtio-net") != NULL);
		return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_vm f;
	struct in in = {data, size};
	struct hv_net_config cfg;
	uint8_t conf = (uint8_t)take(&in, 1);

	memset(ram, 0, RAM);
	memset(&f, 0, sizeof(f));
	f.vm.fd = f.vm.kvm_fd = -1;
	f.vm.mem[0] = (struct vm_mem_region){.gpa = 0, .size = RAM, .hva = ram};
	f.vm.n_mem = 1;
	f.vm.ram_size = RAM;
	f.vcpu = (struct vcpu){.vm = &f.vm, .fd = -1, .run = &f.run};
	cfg = (struct hv_net_config){
	    .backend = HV_NET_LOOPBACK,
	    .notify = HV_NET_NOTIFY_SYNC,
	    .tap_fd = -1,
	    .mtu = conf & FZ_NET_CFG_JUMBO ? 9000 : 0,
	    .mmio_gpa = BASE,
	    .queue_size_max = 1u << (conf & 7),
	    .io_cpu = -1,
	};
	f.frame_max = (conf & FZ_NET_CFG_JUMBO ? 9000 : 1500) + 14;
	FUZZ_CHECK(!dev_virtio_net_attach(&f.vm, &cfg, &f.net));
	while (in.n && op(&f, &in))
		check_counters(&f);
	check_counters(&f);
	dev_virtio_net_detach(f.net);
	return 0;
}
