/*
 * The virtio-mmio transport and split virtqueue (hv/virtio.c), without
 * /dev/kvm: a fake VM (virtio_drv.h) and a dummy device behind the
 * transport.
 *
 * 1. Registers: identification, feature windows, FEATURES_OK acceptance,
 *    status rules (reset on 0, DRIVER_OK without FEATURES_OK, cleared bits).
 * 2. Bad accesses: a wrong size, an unaligned offset, a write-only register
 *    read, a read-only one written, no register there, config beyond its
 *    end stop the run with a verdict naming the register; config writes
 *    are ignored and counted; config reads of 1/2/4/8 bytes are served.
 * 3. Queue set-up: each bad value sets DEVICE_NEEDS_RESET and leaves the
 *    queue not ready; reset brings everything back.
 * 4. Chains: good chains; loops, over-long chains, next/head out of range,
 *    indirect descriptors, avail idx running ahead: broken; buffers outside
 *    RAM or of length 0 come back marked bad (hva NULL).
 * 5. Used ring: publication, InterruptStatus with and without event index,
 *    notification suppression, 16-bit index wrap-around.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dev.h"
#include "exit.h"
#include "tap.h"
#include "virtio.h"
#include "unit/virtio_drv.h"

#define BASE   0xd0010000ull
#define RAM    (4ull << 20)
#define QMAX   8
#define F_V1   (1ull << VIRTIO_F_VERSION_1)
#define F_EIDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_DEV  (1ull << 3) /* the dummy device's own feature */

struct dummy {
	struct virtio_mmio t;
	uint8_t config[12];
	unsigned notifies;
	unsigned last_q;
	unsigned status_calls;
	uint32_t status_old, status_new;
};

static void dummy_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	struct dummy *d = dev;

	memcpy(data, d->config + off, len);
}

static int dummy_notify(void *dev, struct vcpu *vcpu, unsigned q)
{
	struct dummy *d = dev;

	(void)vcpu;
	d->notifies++;
	d->last_q = q;
	return HV_CONTINUE;
}

static void dummy_status(void *dev, uint32_t old, uint32_t new)
{
	struct dummy *d = dev;

	d->status_calls++;
	d->status_old = old, d->status_new = new;
}

static const struct virtio_mmio_ops dummy_ops = {dummy_config_read, dummy_notify, NULL};
static const struct virtio_mmio_ops dummy2_ops = {dummy_config_read, dummy_notify, dummy_status};

static int dummy_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, uint8_t *data, unsigned len,
		      bool write)
{
	struct dummy *d = opaque;

	return virtio_mmio_access(&d->t, vcpu, gpa - BASE, data, len, write);
}

struct fixture {
	struct fake_vm *f;
	struct dummy dev;
	struct drv drv;
};

static void setup(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	x->f = fake_vm_new(RAM);
	for (unsigned i = 0; i < sizeof(x->dev.config); i++)
		x->dev.config[i] = (uint8_t)(0x10 + i);
	virtio_mmio_init(&x->dev.t, &x->f->vm, "dummy", 42, F_EIDX | F_DEV, sizeof(x->dev.config),
			 QMAX, 1, &dummy_ops, &x->dev);
	vm_mmio_register(&x->f->vm, BASE, 0x1000, dummy_mmio, &x->dev, "dummy");
	x->drv = (struct drv){.vm = &x->f->vm, .vcpu = &x->f->vcpu, .base = BASE};
}

static void teardown(struct fixture *x)
{
	virtio_mmio_destroy(&x->dev.t);
	fake_vm_free(x->f);
}

static bool needs_reset(struct fixture *x)
{
	return drv_rd(&x->drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static bool stopped_naming(struct fixture *x, const char *what)
{
	bool ok = x->f->vm.verdict.outcome == HV_GUEST_ERROR && strstr(x->f->vm.verdict.msg, what);

	if (!ok)
		printf("#   verdict: %d '%s' (wanted '%s')\n", x->f->vm.verdict.outcome,
		       x->f->vm.verdict.msg, what);
	vm_verdict_reset(&x->f->vm);
	return ok;
}

/* ------------------------------------------------------------ 1. registers */

static void test_identification(void)
{
	struct fixture x;

	setup(&x);
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "MagicValue is 'virt'");
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_VERSION), 2, "Version 2 (modern)");
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_DEVICE_ID), 42, "DeviceID is the device's");
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_VENDOR_ID), HV_VIRTIO_VENDOR_ID, "VendorID");
	drv_wr(&x.drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(F_EIDX | F_DEV),
		   "features 0-31: the device's and event index");
	drv_wr(&x.drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_DEVICE_FEATURES), 1, "features 32-63: VERSION_1");
	drv_wr(&x.drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_DEVICE_FEATURES), 0, "features beyond 63: none");
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX, "QueueNumMax of queue 0");
	drv_wr(&x.drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "QueueNumMax 0: no queue 1");
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_CONFIG_GENERATION), 0, "ConfigGeneration 0");
	TAP_EQ_INT(drv_rd(&x.drv, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu, "no shared memory");
	TAP_EQ_INT(x.f->vm.verdict.outcome, HV_RUNNING, "none of that stopped the run");
	teardown(&x);
}

static uint32_t try_features(struct fixture *x, uint64_t features)
{
	struct drv *d = &x->drv;
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	drv_wr(d, VIRTIO_MMIO_STATUS, s);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	drv_wr(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	return drv_rd(d, VIRTIO_MMIO_STATUS);
}

static void test_features_ok(void)
{
	struct fixture x;
	struct drv *d = &x.drv;

	setup(&x);
	TAP_OK(!(try_features(&x, F_DEV) & VIRTIO_CONFIG_S_FEATURES_OK),
	       "FEATURES_OK refused without VIRTIO_F_VERSION_1");
	TAP_OK(!(try_features(&x, F_V1 | (1ull << 5)) & VIRTIO_CONFIG_S_FEATURES_OK),
	       "FEATURES_OK refused for a feature not offered");
	TAP_OK(!(try_features(&x, F_V1 | (1ull << VIRTIO_RING_F_INDIRECT_DESC)) &
		 VIRTIO_CONFIG_S_FEATURES_OK),
	       "FEATURES_OK refused for INDIRECT_DESC (not offered)");
	TAP_OK(try_features(&x, F_V1 | F_EIDX | F_DEV) & VIRTIO_CONFIG_S_FEATURES_OK,
	       "FEATURES_OK accepted for offered features with VERSION_1");
	TAP_OK(!needs_reset(&x), "refusals did not set NEEDS_RESET");
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	TAP_OK(needs_reset(&x), "DriverFeatures after FEATURES_OK: NEEDS_RESET");
	TAP_OK(drv_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
	       "NEEDS_RESET raises InterruptStatus bit 1");
	drv_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "InterruptACK clears it");
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_STATUS), 0, "status 0 resets, NEEDS_RESET included");

	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
					  VIRTIO_CONFIG_S_DRIVER_OK);
	TAP_OK(needs_reset(&x), "DRIVER_OK without FEATURES_OK: NEEDS_RESET");
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	try_features(&x, F_V1);
	drv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	TAP_OK(needs_reset(&x), "clearing status bits without a reset: NEEDS_RESET");
	TAP_EQ_INT(x.f->vm.verdict.outcome, HV_RUNNING, "value errors never stop the run");
	TAP_OK(x.dev.t.resets_needed == 3, "each NEEDS_RESET counted");
	teardown(&x);
}

/* ------------------------------------------------------------ 2. bad accesses */

static void test_bad_accesses(void)
{
	struct fixture x;
	uint64_t v8 = 0;
	uint16_t v2 = 0;
	uint8_t v1 = 0;
	uint32_t v4 = 0;

	setup(&x);
	TAP_EQ_INT(mmio_access(&x.f->vm, &x.f->vcpu, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, &v2, 2, true),
		   HV_STOP, "a 2-byte register write stops the run");
	TAP_OK(stopped_naming(&x, "QueueNotify"), "... naming QueueNotify");
	TAP_EQ_INT(mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x72, &v4, 4, false), HV_STOP,
		   "an unaligned register read stops the run");
	TAP_OK(stopped_naming(&x, "0x072"), "... naming the offset");
	TAP_EQ_INT(mmio_access(&x.f->vm, &x.f->vcpu, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, &v4, 4, false),
		   HV_STOP, "reading write-only QueueNotify stops the run");
	TAP_OK(stopped_naming(&x, "QueueNotify"), "... naming it");
	TAP_EQ_INT(drv_wr(&x.drv, VIRTIO_MMIO_MAGIC_VALUE, 1), HV_STOP,
		   "writing read-only MagicValue stops the run");
	TAP_OK(stopped_naming(&x, "MagicValue"), "... naming it");
	TAP_EQ_INT(drv_wr(&x.drv, VIRTIO_MMIO_QUEUE_PFN, 1), HV_STOP,
		   "legacy QueuePFN (version 1 only) stops the run");
	TAP_OK(stopped_naming(&x, "QueuePFN"), "... naming it");
	TAP_EQ_INT(drv_rd(&x.drv, 0x0f0), 0, "no register at 0x0f0");
	TAP_OK(stopped_naming(&x, "no register"), "... stops the run saying so");
	TAP_EQ_INT(mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x100 + 10, &v4, 4, false), HV_STOP,
		   "config read past its end stops the run");
	TAP_OK(stopped_naming(&x, "outside the device configuration"), "... saying so");
	TAP_EQ_INT(mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x100, &v4, 3, false), HV_STOP,
		   "a 3-byte config read stops the run");
	vm_verdict_reset(&x.f->vm);

	mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x100 + 1, &v1, 1, false);
	TAP_EQ_INT(v1, 0x11, "1-byte config read");
	mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x100 + 2, &v2, 2, false);
	TAP_EQ_INT(v2, 0x1312, "2-byte config read");
	mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x100 + 4, &v8, 8, false);
	TAP_EQ_INT(v8, 0x1b1a191817161514ull, "8-byte config read");
	TAP_EQ_INT(mmio_access(&x.f->vm, &x.f->vcpu, BASE + 0x100, &v4, 4, true), HV_CONTINUE,
		   "config write is ignored");
	TAP_EQ_INT(x.dev.config[0], 0x10, "... the config unchanged");
	TAP_EQ_INT(x.dev.t.bad_accesses, 1, "... and counted");
	TAP_EQ_INT(x.f->vm.verdict.outcome, HV_RUNNING, "config accesses inside did not stop it");
	teardown(&x);
}

/* ------------------------------------------------------------ 3. queue set-up */

/* Set up the queue with one register changed from the good values. */
static bool queue_refused(uint64_t reg, uint32_t val, uint16_t num)
{
	struct fixture x;
	bool refused;

	setup(&x);
	try_features(&x, F_V1);
	drv_queue_regs(&x.drv, num);
	if (reg)
		drv_wr(&x.drv, reg, val);
	drv_wr(&x.drv, VIRTIO_MMIO_QUEUE_READY, 1);
	refused = needs_reset(&x) && !drv_rd(&x.drv, VIRTIO_MMIO_QUEUE_READY) &&
		  x.f->vm.verdict.outcome == HV_RUNNING;
	teardown(&x);
	return refused;
}

static void test_queue_setup(void)
{
	struct fixture x;
	struct drv *d = &x.drv;

	TAP_OK(!queue_refused(0, 0, QMAX), "good queue set-up accepted");
	TAP_OK(queue_refused(0, 0, 6), "QueueNum 6 (not a power of two): NEEDS_RESET, not ready");
	TAP_OK(queue_refused(0, 0, 2 * QMAX), "QueueNum above QueueNumMax: refused");
	TAP_OK(queue_refused(0, 0, 0), "QueueNum 0: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_DESC_LOW, DRV_DESC + 8, QMAX),
	       "descriptor table not 16-byte aligned: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_AVAIL_LOW, DRV_AVAIL + 1, QMAX),
	       "available ring not 2-byte aligned: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_USED_LOW, DRV_USED + 2, QMAX),
	       "used ring not 4-byte aligned: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_DESC_HIGH, 1, QMAX),
	       "descriptor table outside RAM: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(RAM - 8), QMAX),
	       "available ring straddling the end of RAM: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(RAM - 16), QMAX),
	       "used ring straddling the end of RAM: refused");
	TAP_OK(queue_refused(VIRTIO_MMIO_QUEUE_USED_HIGH, 0xffffffffu, QMAX),
	       "used ring near 2^64: refused");

	setup(&x);
	drv_queue_regs(d, QMAX);
	drv_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	TAP_OK(needs_reset(&x), "QueueReady before FEATURES_OK: NEEDS_RESET");
	TAP_EQ_INT(drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX) & 0x4f, 0x0f,
		   "after a reset the full init succeeds (DRIVER_OK, no NEEDS_RESET)");
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_QUEUE_READY), 1, "queue ready");
	drv_wr(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	TAP_OK(needs_reset(&x), "QueueNum written while the queue is ready: NEEDS_RESET");
	TAP_OK(!virtio_queue_live(&x.dev.t, 0), "... and the queue is no longer served");
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	drv_notify(d);
	TAP_EQ_INT(x.dev.notifies, 1, "QueueNotify 0 reaches the device");
	drv_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	TAP_OK(needs_reset(&x), "QueueNotify for queue 1: NEEDS_RESET");
	TAP_EQ_INT(x.dev.notifies, 1, "... not passed to the device");
	drv_wr(d, VIRTIO_MMIO_QUEUE_SEL, 3);
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_QUEUE_READY), 0, "reset: queue 0 not ready");
	drv_wr(d, VIRTIO_MMIO_QUEUE_SEL, 3);
	drv_wr(d, VIRTIO_MMIO_QUEUE_NUM, 4);
	TAP_OK(needs_reset(&x), "QueueNum with QueueSel naming no queue: NEEDS_RESET");
	TAP_EQ_INT(x.f->vm.verdict.outcome, HV_RUNNING, "none of it stopped the run");
	teardown(&x);
}

/* Two queues (virtio-net's shape): each is set up and served by index,
 * QueueNotify names the queue, the status hook sees every change. */
static void test_two_queues(void)
{
	struct fixture x;
	struct drv *d = &x.drv;
	struct virtio_mmio t;
	unsigned calls;

	TAP_EQ_INT(virtio_mmio_init(&t, NULL, "x", 1, 0, 0, QMAX, 0, &dummy_ops, NULL), -EINVAL,
		   "init: 0 queues: -EINVAL");
	TAP_EQ_INT(virtio_mmio_init(&t, NULL, "x", 1, 0, 0, QMAX, HV_VIRTIO_MAX_QUEUES + 1,
				    &dummy_ops, NULL),
		   -EINVAL, "init: more queues than HV_VIRTIO_MAX_QUEUES: -EINVAL");
	setup(&x);
	virtio_mmio_destroy(&x.dev.t);
	virtio_mmio_init(&x.dev.t, &x.f->vm, "dummy", 42, F_EIDX | F_DEV, sizeof(x.dev.config),
			 QMAX, 2, &dummy2_ops, &x.dev);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	TAP_EQ_INT(x.dev.status_new & 0x4f, 0x0f, "status hook: last change is DRIVER_OK");
	TAP_OK(x.dev.status_calls >= 4, "status hook: called for each change");
	drv_wr(d, VIRTIO_MMIO_QUEUE_SEL, 1);
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX, "QueueNumMax of queue 1");
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_QUEUE_READY), 0, "queue 1 not ready yet");
	drv_wr(d, VIRTIO_MMIO_QUEUE_NUM, QMAX);
	drv_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x6000);
	drv_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x7000);
	drv_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, 0x8000);
	drv_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	TAP_EQ_INT(drv_rd(d, VIRTIO_MMIO_QUEUE_READY), 1, "queue 1 set up and ready");
	virtio_lock(&x.dev.t);
	TAP_OK(virtio_queue_live(&x.dev.t, 0) && virtio_queue_live(&x.dev.t, 1) &&
		   !virtio_queue_live(&x.dev.t, 2),
	       "queues 0 and 1 live, no queue 2");
	TAP_OK(x.dev.t.vq[1].desc == gpa_ptr(&x.f->vm, 0x6000) &&
		   x.dev.t.vq[0].desc == gpa_ptr(&x.f->vm, DRV_DESC),
	       "each queue keeps its own rings");
	virtio_unlock(&x.dev.t);
	drv_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	TAP_OK(x.dev.notifies == 1 && x.dev.last_q == 1, "QueueNotify 1 reaches the device as queue 1");
	drv_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	TAP_OK(x.dev.notifies == 2 && x.dev.last_q == 0, "QueueNotify 0 as queue 0");
	calls = x.dev.status_calls;
	drv_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	TAP_OK(needs_reset(&x) && x.dev.notifies == 2, "QueueNotify 2: NEEDS_RESET, not passed on");
	TAP_EQ_INT(x.dev.status_calls, calls, "... the hook hears driver writes only");
	drv_wr(d, VIRTIO_MMIO_STATUS, 0);
	TAP_OK(x.dev.status_new == 0 && !virtio_queue_live(&x.dev.t, 1),
	       "reset: the hook sees 0, queue 1 is down too");
	TAP_EQ_INT(x.f->vm.verdict.outcome, HV_RUNNING, "none of it stopped the run");
	teardown(&x);
}

/* ------------------------------------------------------------ 4. chains */

static enum virtq_pop_result pop(struct fixture *x, struct virtq_chain *c, const char **why)
{
	enum virtq_pop_result r;

	*why = "";
	virtio_lock(&x->dev.t);
	r = virtq_pop(&x->f->vm, &x->dev.t.vq[0], c, why);
	virtio_unlock(&x->dev.t);
	return r;
}

static bool broken_by(struct fixture *x, struct virtq_chain *c, const char *what)
{
	const char *why;
	bool ok = pop(x, c, &why) == VIRTQ_BROKEN && strstr(why, what);

	if (!ok)
		printf("#   why: '%s' (wanted '%s')\n", why, what);
	return ok;
}

static void test_chains(void)
{
	static struct virtq_chain c;
	struct fixture x;
	struct drv *d = &x.drv;
	const char *why;

	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	TAP_EQ_INT(pop(&x, &c, &why), VIRTQ_EMPTY, "empty ring: nothing");
	drv_desc(d, 2, 0x5000, 16, VRING_DESC_F_NEXT, 5);
	drv_desc(d, 5, 0x6000, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0);
	drv_desc(d, 0, 0x7000, 1, VRING_DESC_F_WRITE, 0);
	drv_publish(d, 2);
	TAP_EQ_INT(pop(&x, &c, &why), VIRTQ_CHAIN, "a chain of three");
	TAP_OK(c.head == 2 && c.n == 3 && c.seg[0].gpa == 0x5000 && !c.seg[0].write &&
		   c.seg[1].len == 100 && c.seg[1].write && c.seg[2].gpa == 0x7000,
	       "... its segments in order with their directions");
	TAP_OK(c.seg[1].hva == gpa_ptr(&x.f->vm, 0x6000), "... host addresses resolved");
	TAP_EQ_INT(pop(&x, &c, &why), VIRTQ_EMPTY, "then nothing");

	drv_desc(d, 1, RAM - 8, 16, 0, 0);
	drv_publish(d, 1);
	TAP_EQ_INT(pop(&x, &c, &why), VIRTQ_CHAIN, "a buffer straddling the end of RAM");
	TAP_OK(c.seg[0].hva == NULL, "... comes back marked bad");
	drv_desc(d, 1, ~0ull - 4, 16, 0, 0);
	drv_publish(d, 1);
	pop(&x, &c, &why);
	TAP_OK(c.seg[0].hva == NULL, "a buffer whose end wraps 2^64 is bad");
	drv_desc(d, 1, 0x5000, 0, 0, 0);
	drv_publish(d, 1);
	pop(&x, &c, &why);
	TAP_OK(c.seg[0].hva == NULL, "a zero-length buffer is bad");

	drv_desc(d, 3, 0x5000, 16, VRING_DESC_F_NEXT, 4);
	drv_desc(d, 4, 0x5000, 16, VRING_DESC_F_NEXT, 3);
	drv_publish(d, 3);
	TAP_OK(broken_by(&x, &c, "longer than the queue"), "a descriptor loop: broken");
	teardown(&x);

	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	for (uint16_t i = 0; i < QMAX; i++)
		drv_desc(d, i, 0x5000, 16, i + 1 < QMAX ? VRING_DESC_F_NEXT : 0, i + 1);
	drv_publish(d, 0);
	TAP_EQ_INT(pop(&x, &c, &why), VIRTQ_CHAIN, "a chain of exactly the queue size is fine");
	TAP_EQ_INT(c.n, QMAX, "... all of it");
	drv_desc(d, QMAX - 1, 0x5000, 16, VRING_DESC_F_NEXT, QMAX);
	drv_publish(d, 0);
	TAP_OK(broken_by(&x, &c, "next index"), "next index = queue size: broken");
	teardown(&x);

	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	drv_publish(d, QMAX);
	TAP_OK(broken_by(&x, &c, "head index"), "head index = queue size: broken");
	teardown(&x);

	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	drv_desc(d, 0, 0x5000, 32, VRING_DESC_F_INDIRECT, 0);
	drv_publish(d, 0);
	TAP_OK(broken_by(&x, &c, "indirect"), "indirect descriptor (not offered): broken");
	teardown(&x);

	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	drv_desc(d, 0, 0x5000, 16, 0, 0);
	__atomic_store_n(&d->avail->idx, QMAX + 1, __ATOMIC_RELEASE);
	TAP_OK(broken_by(&x, &c, "ahead"), "avail idx queue size + 1 ahead: broken");
	__atomic_store_n(&d->avail->idx, QMAX, __ATOMIC_RELEASE);
	TAP_EQ_INT(pop(&x, &c, &why), VIRTQ_CHAIN, "exactly the queue size ahead is fine");
	teardown(&x);
}

/* ------------------------------------------------------------ 5. used ring */

static void complete_one(struct fixture *x, uint16_t head, uint32_t len)
{
	virtio_lock(&x->dev.t);
	virtq_push(&x->dev.t.vq[0], head, len);
	virtq_flush(&x->dev.t, &x->dev.t.vq[0]);
	virtio_unlock(&x->dev.t);
}

static uint32_t isr_take(struct fixture *x)
{
	uint32_t v = drv_rd(&x->drv, VIRTIO_MMIO_INTERRUPT_STATUS);

	drv_wr(&x->drv, VIRTIO_MMIO_INTERRUPT_ACK, v);
	return v;
}

static uint16_t avail_event(const struct drv *d)
{
	uint16_t v;

	memcpy(&v, (const uint8_t *)d->used + 4 + 8 * QMAX, 2);
	return v;
}

static void test_used_ring(void)
{
	static struct virtq_chain c;
	struct fixture x;
	struct drv *d = &x.drv;
	struct virtq *q;
	const char *why;
	bool ok = true;

	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	q = &x.dev.t.vq[0];
	drv_desc(d, 3, 0x5000, 16, 0, 0);
	drv_publish(d, 3);
	pop(&x, &c, &why);
	complete_one(&x, 3, 7);
	TAP_OK(d->used->idx == 1 && d->used->ring[0].id == 3 && d->used->ring[0].len == 7,
	       "used element and idx published");
	TAP_EQ_INT(isr_take(&x), VIRTIO_MMIO_INT_VRING, "InterruptStatus bit 0 set");
	d->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	drv_publish(d, 3);
	pop(&x, &c, &why);
	complete_one(&x, 3, 1);
	TAP_EQ_INT(isr_take(&x), 0, "not with VRING_AVAIL_F_NO_INTERRUPT");
	virtio_lock(&x.dev.t);
	TAP_OK(!virtq_notifications(q, true) && d->used->flags == 0,
	       "notifications on: used->flags 0, nothing pending");
	drv_publish(d, 3);
	TAP_OK(virtq_notifications(q, true), "... says so when a request came in meanwhile");
	virtq_notifications(q, false);
	TAP_EQ_INT(d->used->flags, VRING_USED_F_NO_NOTIFY, "notifications off: NO_NOTIFY");
	virtio_unlock(&x.dev.t);
	teardown(&x);

	/* Event index: avail_event follows the device, used_event is honoured. */
	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1 | F_EIDX, QMAX);
	q = &x.dev.t.vq[0];
	TAP_OK(q->event_idx, "event index negotiated");
	drv_desc(d, 0, 0x5000, 16, 0, 0);
	d->avail->ring[QMAX] = 1; /* used_event: interrupt once used idx passes 1 */
	for (int i = 0; i < 3; i++) {
		drv_publish(d, 0);
		pop(&x, &c, &why);
		complete_one(&x, 0, 1);
		TAP_EQ_INT(isr_take(&x), i == 1 ? VIRTIO_MMIO_INT_VRING : 0,
			   i == 1 ? "used_event 1: interrupt when idx goes 1 -> 2"
				  : "used_event 1: no interrupt for other steps");
	}
	virtio_lock(&x.dev.t);
	virtq_notifications(q, true);
	TAP_EQ_INT(avail_event(d), 3, "avail_event = next entry to take");
	virtq_notifications(q, false);
	TAP_EQ_INT(avail_event(d), 2, "poll: avail_event behind it");
	virtio_unlock(&x.dev.t);
	teardown(&x);

	/* 16-bit indices wrap: 70000 requests through a queue of 8. */
	setup(&x);
	drv_init(d, &x.f->vm, &x.f->vcpu, BASE, F_V1, QMAX);
	for (uint16_t i = 0; i < QMAX; i++)
		drv_desc(d, i, 0x5000, 16, 0, 0);
	for (unsigned i = 0; i < 70000 && ok; i++) {
		drv_publish(d, (uint16_t)(i % QMAX));
		ok = pop(&x, &c, &why) == VIRTQ_CHAIN && c.head == i % QMAX;
		complete_one(&x, c.head, i);
		ok = ok && d->used->idx == (uint16_t)(i + 1) &&
		     d->used->ring[i % QMAX].len == i;
	}
	TAP_OK(ok, "70000 requests: avail and used indices wrap past 65535");
	teardown(&x);
}

int main(void)
{
	test_identification();
	test_features_ok();
	test_bad_accesses();
	test_queue_setup();
	test_two_queues();
	test_chains();
	test_used_ring();
	return tap_done();
}
