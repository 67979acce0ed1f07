/*
 * probes/tsc: the TSC-stability verdict read from available_clocksource
 * (the kernel drops an unstable TSC from it; KVM then re-offsets guests'
 * TSCs, so host and guest stamps are two clocks and the kvm runner does not
 * grant HVB_CAP_ONE_TSC).
 */
#include "tap.h"
#include "tsc.h"

int main(void)
{
	char why[256];

	TAP_OK(hvb_tsc_stable_in("tsc kvm-clock hpet acpi_pm"), "tsc first: stable");
	TAP_OK(hvb_tsc_stable_in("kvm-clock tsc"), "tsc last: stable");
	TAP_OK(hvb_tsc_stable_in("tsc"), "tsc alone: stable");
	TAP_OK(!hvb_tsc_stable_in("hpet acpi_pm "), "no tsc (nested under QEMU TCG): unstable");
	TAP_OK(!hvb_tsc_stable_in("tsc-early hpet"), "tsc-early is not the tsc clocksource");
	TAP_OK(!hvb_tsc_stable_in("xtsc hpet"), "a word that only contains tsc does not count");
	TAP_OK(!hvb_tsc_stable_in(""), "empty: unstable");
	/* This host: whatever it says, it says why. */
	hvb_tsc_stable(why, sizeof(why));
	TAP_OK(why[0] != '\0', "the live verdict names its evidence");
	return tap_done();
}
