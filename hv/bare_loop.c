#include "bare_loop.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "exit.h"
#include "mem.h"
#include "pvh.h"
#include "watchdog.h"
#include "hvb/abi.h"

#define CODE_GPA 0x100000ull
#define RAM	 (4ull << 20)

#define CALIBRATE_WARMUP  256
#define CALIBRATE_PROBE	  2048
#define MAX_BATCH_EXITS	  (1ull << 26)

/* ecx = iters; loop: UNROLL x (out dx, al); dec ecx; jnz loop; shutdown. */
static size_t make_guest(uint8_t *p, uint32_t iters)
{
	size_t n = 0, loop;
	int32_t rel;

	p[n++] = 0xb9, memcpy(p + n, &iters, 4), n += 4;		   /* mov ecx, iters */
	p[n++] = 0x66, p[n++] = 0xba, p[n++] = HVB_PORT_BENCH_USER & 0xff; /* mov dx, port */
	p[n++] = HVB_PORT_BENCH_USER >> 8;
	loop = n;
	for (int i = 0; i < HV_BARE_UNROLL; i++)
		p[n++] = 0xee;	      /* out dx, al */
	p[n++] = 0x49;		      /* dec ecx */
	p[n++] = 0x0f, p[n++] = 0x85; /* jnz rel32 */
	rel = (int32_t)loop - (int32_t)(n + 4);
	memcpy(p + n, &rel, 4), n += 4;
	p[n++] = 0x66, p[n++] = 0xba, p[n++] = HVB_PORT_SHUTDOWN & 0xff; /* mov dx, shutdown */
	p[n++] = HVB_PORT_SHUTDOWN >> 8;
	p[n++] = 0xee;		      /* out dx, al */
	p[n++] = 0xeb, p[n++] = 0xfe; /* jmp $ */
	return n;
}

int hv_bare_guest_create(struct hv_bare_guest *g, uint32_t iters, bool devices)
{
	uint8_t code[HV_BARE_UNROLL + 64];
	size_t n = make_guest(code, iters);
	int r;

	memset(g, 0, sizeof(*g));
	r = vm_create(&g->vm, NULL);
	if (!r)
		r = vm_mem_add(g->vm, 0, RAM);
	if (!r)
		r = vcpu_create(g->vm, 0, &g->vcpu);
	if (!r)
		r = vm_gpa_write(g->vm, CODE_GPA, code, n);
	if (!r)
		r = vcpu_setup_pvh(g->vcpu, (uint32_t)CODE_GPA);
	if (!r && devices)
		r = dev_console_attach(g->vm, &g->con, 0, NULL, NULL);
	if (!r && devices)
		r = dev_hvb_attach(g->vm, &g->hvb);
	if (r)
		hv_bare_guest_destroy(g);
	return r;
}

void hv_bare_guest_destroy(struct hv_bare_guest *g)
{
	if (g->vm)
		vm_destroy(g->vm);
	g->vm = NULL;
	g->vcpu = NULL;
}

int hv_bare_run(struct vcpu *vcpu, uint64_t max_exits, uint64_t *exits)
{
	struct kvm_run *run = vcpu->run;
	uint64_t n = 0;
	int r = 0;

	while (!max_exits || n < max_exits) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			r = -errno;
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == HVB_PORT_BENCH_USER) {
			n++;
			continue;
		}
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != HVB_PORT_SHUTDOWN ||
		    max_exits)
			r = -EIO; /* with max_exits the guest must not end before */
		break;
	}
	if (exits)
		*exits = n;
	return r;
}

int hv_bare_time(struct vcpu *vcpu, uint64_t n, double *ns_per_exit)
{
	uint64_t t0, t1;
	int r;

	if (!n)
		return -EINVAL;
	t0 = hv_now_ns();
	r = hv_bare_run(vcpu, n, NULL);
	t1 = hv_now_ns();
	if (!r)
		*ns_per_exit = (double)(t1 - t0) / (double)n;
	return r;
}

int hv_bare_calibrate(struct vcpu *vcpu, uint64_t goal_us, uint64_t *exits_per_batch)
{
	double ns, want;
	int r = hv_bare_run(vcpu, CALIBRATE_WARMUP, NULL);

	if (!r)
		r = hv_bare_time(vcpu, CALIBRATE_PROBE, &ns);
	if (r)
		return r;
	want = (double)goal_us * 1000.0 / (ns > 0 ? ns : 1.0);
	if (want < HV_BARE_UNROLL)
		want = HV_BARE_UNROLL;
	if (want > (double)MAX_BATCH_EXITS)
		want = (double)MAX_BATCH_EXITS;
	*exits_per_batch = (uint64_t)want;
	return 0;
}
