/*
 * The bare KVM_RUN loop (hv/bare_loop.c): it counts exactly the exits the
 * tiny guest makes, ends at its shutdown, stops after max_exits on an
 * endless guest, times positive figures, calibrates within its limits, and
 * refuses a guest that is not the tiny guest.  Skips without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "bare_loop.h"
#include "mem.h"

static void test_counts_to_shutdown(void)
{
	struct hv_bare_guest g;
	uint64_t exits = 0;
	int r = hv_bare_guest_create(&g, 3, false);

	TAP_EQ_INT(r, 0, "tiny guest of 3 iterations created");
	if (r)
		return;
	TAP_EQ_INT(hv_bare_run(g.vcpu, 0, &exits), 0, "bare loop ends at the guest's shutdown");
	TAP_EQ_INT(exits, 3 * HV_BARE_UNROLL, "it counted every port exit (3 x unroll)");
	hv_bare_guest_destroy(&g);
	TAP_OK(!g.vm, "destroy clears the guest");
}

static void test_endless_and_timing(void)
{
	struct hv_bare_guest g;
	uint64_t exits = 0, per_batch = 0;
	double ns = 0;

	if (hv_bare_guest_create(&g, 0, false)) {
		TAP_OK(0, "endless tiny guest created");
		return;
	}
	TAP_EQ_INT(hv_bare_run(g.vcpu, 1000, &exits), 0, "max_exits stops an endless guest");
	TAP_EQ_INT(exits, 1000, "after exactly max_exits exits");
	TAP_EQ_INT(hv_bare_time(g.vcpu, 500, &ns), 0, "500 exits timed");
	TAP_OK(ns > 0 && ns < 1e7, "ns per exit is positive and below 10 ms");
	TAP_EQ_INT(hv_bare_time(g.vcpu, 0, &ns), -EINVAL, "timing 0 exits is refused");
	TAP_EQ_INT(hv_bare_calibrate(g.vcpu, 1000, &per_batch), 0, "calibrated to 1 ms");
	TAP_OK(per_batch >= HV_BARE_UNROLL && per_batch <= (1ull << 26),
	       "exits per batch within its limits");
	hv_bare_guest_destroy(&g);
}

/* Short guest + max_exits beyond it: the shutdown comes too early. */
static void test_early_shutdown_is_an_error(void)
{
	struct hv_bare_guest g;
	uint64_t exits = 0;

	if (hv_bare_guest_create(&g, 1, false)) {
		TAP_OK(0, "tiny guest of 1 iteration created");
		return;
	}
	TAP_EQ_INT(hv_bare_run(g.vcpu, 10 * HV_BARE_UNROLL, &exits), -EIO,
		   "a shutdown before max_exits is -EIO");
	TAP_EQ_INT(exits, HV_BARE_UNROLL, "after the exits the guest made");
	hv_bare_guest_destroy(&g);
}

/* Another port than the bench port: not the tiny guest, -EIO. */
static void test_foreign_port_refused(void)
{
	static const uint8_t code[] = { 0x66, 0xba, 0x34, 0x12, 0xee, 0xeb, 0xfe }; /* out 0x1234 */
	struct hv_bare_guest g;

	if (hv_bare_guest_create(&g, 1, false)) {
		TAP_OK(0, "guest created");
		return;
	}
	TAP_EQ_INT(vm_gpa_write(g.vm, 0x100000, code, sizeof(code)), 0, "code replaced");
	TAP_EQ_INT(hv_bare_run(g.vcpu, 0, NULL), -EIO, "an unknown port exit is -EIO");
	hv_bare_guest_destroy(&g);
}

int main(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		char why[128];
		snprintf(why, sizeof(why), "/dev/kvm unusable: %s", strerror(errno));
		TAP_SKIP(why);
		return tap_done();
	}
	close(fd);
	test_counts_to_shutdown();
	test_endless_and_timing();
	test_early_shutdown_is_an_error();
	test_foreign_port_refused();
	return tap_done();
}
