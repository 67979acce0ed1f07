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

#include "fuzz_vm.h"
#include "hvb/abi.h"
#include "virtio_net.h"
#include "unit/virtio_net_drv.h"

#define RAM  NDRV_RAM_MIN
#define DEVICE "virtio-net"
#define BASE HVB_VIRTIO_MMIO_NET

static uint8_t *ram; /* guest RAM: one heap block, ASan's redzones around it */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ram = fuzz_ram_alloc(RAM);
	return 0;
}

struct fuzz_vm {
	struct fuzz_guest g;
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
	uint8_t *p = gpa_ptr(&f->g.vm, NDRV_TXBUF(slot % f->d.num));
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

static int op_req(struct fuzz_vm *f, struct fuzz_in *in)
{
	uint16_t slot = (uint16_t)fuzz_take(in, 1), len = (uint16_t)fuzz_take(in, 2);
	uint16_t rx_len = (uint16_t)fuzz_take(in, 2);
	uint8_t kind = (uint8_t)fuzz_take(in, 1);

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
static bool op(struct fuzz_vm *f, struct fuzz_in *in)
{
	struct ndrv *d = &f->d;
	int r = HV_CONTINUE;
	unsigned opcode = (unsigned)(fuzz_take(in, 1) % FZ_N_OPS);

	if (fuzz_guest_op(&f->g, opcode, in, BASE, &r))
		return fuzz_guest_continues(&f->g, r, DEVICE);
	switch (opcode) {
	case FZ_INIT: {
		uint64_t features = fuzz_take(in, 8);
		ndrv_init(d, &f->g.vm, &f->g.vcpu, BASE, features,
			  (uint16_t)(1u << (fuzz_take(in, 1) % 9)));
		f->inited = true;
		r = f->g.vm.verdict.outcome == HV_RUNNING ? HV_CONTINUE : HV_STOP;
		break;
	}
	case FZ_REQ:
		r = op_req(f, in);
		break;
	case FZ_DESC: {
		unsigned q = (unsigned)fuzz_take(in, 1) & 1;
		uint16_t i = (uint16_t)fuzz_take(in, 2);
		uint64_t addr = fuzz_take(in, 8);
		uint32_t len = (uint32_t)fuzz_take(in, 4);
		uint16_t flags = (uint16_t)fuzz_take(in, 2), next = (uint16_t)fuzz_take(in, 2);
		if (f->inited)
			ndrv_desc(d, q, i, addr, len, flags, next);
		break;
	}
	case FZ_PUB: {
		unsigned q = (unsigned)fuzz_take(in, 1);
		uint16_t head = (uint16_t)fuzz_take(in, 2);
		if (!f->inited)
			break;
		ndrv_publish(d, q & 1, head);
		r = ndrv_notify(d, q & 3);
		break;
	}
	}
	return fuzz_guest_continues(&f->g, r, DEVICE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_vm f;
	struct fuzz_in in = {data, size};
	struct hv_net_config cfg;
	uint8_t conf = (uint8_t)fuzz_take(&in, 1);

	memset(&f, 0, sizeof(f));
	fuzz_guest_reset(&f.g, ram, RAM);
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
	FUZZ_CHECK(!dev_virtio_net_attach(&f.g.vm, &cfg, &f.net));
	while (in.n && op(&f, &in))
		check_counters(&f);
	check_counters(&f);
	dev_virtio_net_detach(f.net);
	return 0;
}
