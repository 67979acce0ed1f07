/*
 * Dirty-page tracking (hv/dirty.c) and the vCPU state round trip
 * (hv/vcpu_state.c) with a hand-made guest (hv_dirtyguest.h):
 *   - for each mode this host offers (log, clear, ring; the others skip
 *     with the probe's reason), a guest that writes a known set of pages
 *     is reported with exactly those pages, and a second collect with
 *     nothing new reports none;
 *   - a vCPU stopped mid-program: its state (regs, sregs, MSRs, XSAVE,
 *     XCRs, LAPIC, events, mp_state, debug registers) read, set on a
 *     fresh VM's vCPU and read again is equal, and the fresh VM runs the
 *     program on to the same end.
 * Skips without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "hv_dirtyguest.h"
#include "vcpu_state.h"

static const struct hv_run_opts run_opts = {.timeout_ns = 10000000000ull};

/* Pages in no particular order, one in each of several bitmap words, two
 * neighbours, the last page of RAM. */
static const uint32_t known[] = {0x200000, 0x203000, 0x204000, 0x280000, 0x3ff000, 0x240000};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

static bool is_known(uint64_t gpa)
{
	for (unsigned i = 0; i < N_KNOWN; i++)
		if (known[i] == gpa)
			return true;
	return false;
}

static void test_dirty_mode(enum hv_dirty_mode mode)
{
	struct dg_result res = {0};
	struct hv_dirty d;
	struct dg_asm a;
	struct vm *vm;
	char why[300], what[120];
	uint64_t cursor = 0, gpa;
	unsigned got = 0, foreign = 0;
	const char *m = hv_dirty_mode_name(mode);

	if (vm_create(&vm, NULL)) {
		TAP_OK(0, "probe VM created");
		return;
	}
	if (hv_dirty_probe(vm, mode, why, sizeof(why))) {
		char skip[400];
		snprintf(skip, sizeof(skip), "dirty mode %s unsupported here: %s", m, why);
		TAP_SKIP(skip);
		vm_destroy(vm);
		return;
	}
	vm_destroy(vm);
	vm = dg_vm(&res, mode == HV_DIRTY_RING);
	snprintf(what, sizeof(what), "%s: guest VM created", m);
	if (!TAP_OK(vm, what))
		return;
	dg_known_pages(&a, known, N_KNOWN);
	dg_load(vm, &a);
	snprintf(what, sizeof(what), "%s: tracking started", m);
	TAP_EQ_INT(hv_dirty_start(&d, vm, mode), 0, what);
	TAP_EQ_INT(vcpu_run(vm->vcpus[0], &run_opts), HV_SHUTDOWN, "the guest wrote its pages");
	snprintf(what, sizeof(what), "%s: collected", m);
	TAP_EQ_INT(hv_dirty_collect(&d), 0, what);
	while (hv_dirty_take(&d, &cursor, &gpa)) {
		got++;
		if (!is_known(gpa) && foreign++ < 4)
			printf("# %s: page 0x%llx reported, the guest did not write it\n", m,
			       (unsigned long long)gpa);
	}
	snprintf(what, sizeof(what), "%s: exactly the %zu pages written are reported", m, N_KNOWN);
	TAP_OK(got == N_KNOWN && !foreign, what);
	printf("# %s: %u reported, %u not written by the guest\n", m, got, foreign);
	snprintf(what, sizeof(what), "%s: taken pages leave nothing pending", m);
	TAP_EQ_INT(hv_dirty_pending(&d), 0, what);
	TAP_EQ_INT(hv_dirty_collect(&d), 0, "collected again");
	snprintf(what, sizeof(what), "%s: nothing new is reported by a second collect", m);
	TAP_EQ_INT(hv_dirty_pending(&d), 0, what);
	hv_dirty_mark(&d, 0x300010, 4096);
	snprintf(what, sizeof(what), "%s: a range the VMM wrote marks its two pages", m);
	TAP_EQ_INT(hv_dirty_pending(&d), 2, what);
	hv_dirty_stop(&d);
	TAP_OK(!vm->dirty, "stop detaches the tracking from the VM");
	vm_destroy(vm);
}

/* ------------------------------------------------------------ state round trip */

static bool msrs_equal(const struct hv_vcpu_state *a, const struct hv_vcpu_state *b)
{
	unsigned diff = 0;

	if (a->n_msrs != b->n_msrs) {
		printf("# %u MSRs before, %u after\n", a->n_msrs, b->n_msrs);
		return false;
	}
	for (unsigned i = 0; i < a->n_msrs; i++)
		if (a->msrs[i].index != b->msrs[i].index || a->msrs[i].data != b->msrs[i].data) {
			if (diff++ < 4)
				printf("# MSR 0x%x: 0x%llx before, 0x%llx after\n", a->msrs[i].index,
				       (unsigned long long)a->msrs[i].data,
				       (unsigned long long)b->msrs[i].data);
		}
	return !diff;
}

static void compare_states(const struct hv_vcpu_state *a, const struct hv_vcpu_state *b)
{
	TAP_OK(!memcmp(&a->regs, &b->regs, sizeof(a->regs)), "regs equal after the round trip");
	TAP_OK(!memcmp(&a->sregs, &b->sregs, sizeof(a->sregs)), "sregs equal");
	TAP_OK(a->n_msrs > 10, "MSRs were read (more than 10)");
	TAP_OK(msrs_equal(a, b), "MSRs equal");
	TAP_OK(a->have[HV_PART_XSAVE] == b->have[HV_PART_XSAVE] && a->xsave_size == b->xsave_size &&
		   (!a->xsave || !memcmp(a->xsave, b->xsave, a->xsave_size)),
	       "FPU/XSAVE area equal");
	TAP_OK(!memcmp(&a->xcrs, &b->xcrs, sizeof(a->xcrs)), "XCRs equal");
	TAP_OK(a->have[HV_PART_LAPIC] == b->have[HV_PART_LAPIC] &&
		   !memcmp(&a->lapic, &b->lapic, sizeof(a->lapic)),
	       "LAPIC equal (or absent on both)");
	TAP_OK(!memcmp(&a->mp, &b->mp, sizeof(a->mp)), "mp_state equal");
	TAP_OK(!memcmp(&a->dbg, &b->dbg, sizeof(a->dbg)), "debug registers equal");
	TAP_OK(a->events.exception.injected == b->events.exception.injected &&
		   a->events.nmi.pending == b->events.nmi.pending &&
		   a->events.interrupt.injected == b->events.interrupt.injected,
	       "pending events equal");
	TAP_OK(a->tsc_offset == b->tsc_offset, "TSC offset equal");
}

/* mark 1 with ebx/ecx/edx/esi/edi/ebp set; then mark eax+ebx+... */
static void state_program(struct dg_asm *a)
{
	a->n = 0;
	dg_emit(a, "\xbb\x11\x11\x00\x00\xb9\x22\x22\x00\x00", 10); /* mov ebx; mov ecx */
	dg_emit(a, "\xba\x33\x33\x00\x00\xbe\x44\x44\x00\x00", 10); /* mov edx; mov esi */
	dg_emit(a, "\xbf\x55\x55\x00\x00\xbd\x66\x66\x00\x00", 10); /* mov edi; mov ebp */
	dg_emit(a, "\xb8\x01\x00\x00\x00", 5), dg_out(a, DG_PORT_MARK); /* mark 1: stop here */
	dg_emit(a, "\x01\xd8\x01\xc8\x01\xd0\x01\xf0\x01\xf8\x01\xe8", 12); /* eax += each */
	dg_out(a, DG_PORT_OK);
	dg_out(a, DG_PORT_END);
	dg_emit(a, "\xeb\xfe", 2);
}

/* Stop the source at its marker: the port handler ends the run there. */
static int stop_at_mark(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data,
			unsigned size, bool out)
{
	(void)opaque, (void)port, (void)data, (void)size, (void)out;
	return vm_stop(vcpu->vm, vcpu, HV_SHUTDOWN, "at the marker");
}

static void test_state_round_trip(void)
{
	struct dg_result res = {0}, res2 = {0};
	struct hv_vcpu_state before, after;
	struct dg_asm a;
	struct vm *src = dg_vm(&res, false), *dst = dg_vm(&res2, false);
	char why[300] = "";

	if (!TAP_OK(src && dst, "source and fresh VM created"))
		return;
	state_program(&a);
	dg_load(src, &a);
	/* The marker port stops the source; the fresh VM has the program in
	 * its RAM too (memory is not part of the vCPU state). */
	src->pio[0].fn = stop_at_mark;
	vm_gpa_write(dst, DG_CODE, a.p, a.n);
	TAP_EQ_INT(vcpu_run(src->vcpus[0], &run_opts), HV_SHUTDOWN, "source stopped at its marker");
	TAP_EQ_INT(vcpu_state_settle(src->vcpus[0]), 0, "the port exit completed");
	TAP_EQ_INT(vcpu_state_get(src->vcpus[0], &before), 0, "state read on the source");
	TAP_EQ_INT(vcpu_state_set(dst->vcpus[0], &before, why, sizeof(why)), 0,
		   "state set on the fresh vCPU");
	if (why[0])
		printf("# %s\n", why);
	printf("# %u MSRs moved, %u refused (first 0x%x), XSAVE %u bytes, LAPIC %s\n",
	       before.n_msrs, before.msrs_refused, before.msr_first_refused, before.xsave_size,
	       before.have[HV_PART_LAPIC] ? "yes" : "no (no irqchip)");
	TAP_EQ_INT(before.msrs_refused, 0, "KVM took every MSR back");
	TAP_EQ_INT(vcpu_state_get(dst->vcpus[0], &after), 0, "state read back on the fresh vCPU");
	compare_states(&before, &after);
	TAP_EQ_INT(vcpu_run(dst->vcpus[0], &run_opts), HV_SHUTDOWN,
		   "the fresh VM runs the program on to its end");
	TAP_EQ_INT(res2.ok_gen, 1 + 0x1111 + 0x2222 + 0x3333 + 0x4444 + 0x5555 + 0x6666,
		   "with the registers the source had");
	vcpu_state_free(&before);
	vcpu_state_free(&after);
	vm_destroy(src);
	vm_destroy(dst);
}

static void test_names_and_part_sizes(void)
{
	enum hv_dirty_mode m;
	struct hv_vcpu_state s;
	char why[200];
	uint8_t junk[16] = {0};

	memset(&s, 0, sizeof(s));
	TAP_OK(hv_dirty_mode_parse("ring", &m) && m == HV_DIRTY_RING, "'ring' parses");
	TAP_OK(!hv_dirty_mode_parse("bitmap", &m), "'bitmap' does not");
	TAP_EQ_STR(hv_dirty_mode_name(HV_DIRTY_CLEAR), "clear", "clear's name");
	TAP_EQ_INT(vcpu_state_part_put(&s, HV_PART_REGS, junk, sizeof(junk), why, sizeof(why)),
		   -EINVAL, "regs of the wrong size refused");
	TAP_OK(strstr(why, "regs") != NULL, "the refusal names the part");
	TAP_EQ_INT(vcpu_state_part_put(&s, HV_PART_MSRS, junk, 15, why, sizeof(why)), -EINVAL,
		   "a partial MSR entry refused");
	TAP_EQ_INT(vcpu_state_part_put(&s, HV_PART_XSAVE, junk, sizeof(junk), why, sizeof(why)),
		   -EINVAL, "an XSAVE area below 4096 bytes refused");
	TAP_EQ_INT(vcpu_state_part_put(&s, (enum hv_state_part)HV_PARTS, junk, 8, why, sizeof(why)),
		   -EINVAL, "an unknown part refused");
	vcpu_state_free(&s);
}

int main(void)
{
	char why[128];

	test_names_and_part_sizes();
	if (dg_kvm_unusable(why, sizeof(why))) {
		TAP_SKIP(why);
		return tap_done();
	}
	for (unsigned m = 0; m < HV_DIRTY_MODES; m++)
		test_dirty_mode((enum hv_dirty_mode)m);
	test_state_round_trip();
	return tap_done();
}
