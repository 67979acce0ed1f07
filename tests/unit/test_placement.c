/*
 * --vcpus / --cpus into a placement (src/placement.c): round robin from
 * --cpu over the allowed CPUs, wrapping; an explicit list checked against
 * the allowed set and --vcpus; overcommit when two share a host CPU;
 * unpinned stays unpinned; clear errors for hostile lists.
 */
#include <string.h>

#include "placement.h"
#include "tap.h"

static cpu_set_t cpus_of(const int *v, unsigned n)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (unsigned i = 0; i < n; i++)
		CPU_SET(v[i], &set);
	return set;
}

static void test_round_robin(void)
{
	const int allowed[] = { 1, 3, 6 };
	cpu_set_t set = cpus_of(allowed, 3);
	struct hvb_placement pl;
	char err[256], list[64];

	TAP_EQ_INT(hvb_placement_resolve(&pl, 3, 3, NULL, &set, err, sizeof(err)), 0,
		   "3 vCPUs from CPU 3");
	hvb_placement_list(&pl, list, sizeof(list));
	TAP_EQ_STR(list, "3,6,1", "round robin upwards from --cpu, wrapping");
	TAP_OK(!pl.overcommit && pl.host_cpus == 3, "three host CPUs: not overcommitted");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 5, 6, NULL, &set, err, sizeof(err)), 0,
		   "5 vCPUs on 3 CPUs is allowed");
	hvb_placement_list(&pl, list, sizeof(list));
	TAP_EQ_STR(list, "6,1,3,6,1", "... wrapping around the allowed set");
	TAP_OK(pl.overcommit && pl.host_cpus == 3, "... and overcommitted on 3 host CPUs");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 1, 3, NULL, &set, err, sizeof(err)), 0, "1 vCPU");
	TAP_OK(pl.vcpus == 1 && pl.cpus[0] == 3 && !pl.overcommit, "... on --cpu");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 2, -1, NULL, &set, err, sizeof(err)), 0,
		   "no CPU to pin to");
	TAP_OK(pl.cpus[0] == -1 && pl.cpus[1] == -1 && !pl.overcommit,
	       "... every vCPU unpinned, none counted as shared");
}

static void test_list(void)
{
	static const char *const junk[] = { "", "x", "0,", ",0", "0,,1", "-1,0", "0;1",
					    "99999999999999999999,0", "0,1 " };
	const int allowed[] = { 0, 1 };
	cpu_set_t set = cpus_of(allowed, 2);
	struct hvb_placement pl;
	char err[256];

	TAP_EQ_INT(hvb_placement_resolve(&pl, 2, 0, "1,0", &set, err, sizeof(err)), 0,
		   "--cpus 1,0");
	TAP_OK(pl.cpus[0] == 1 && pl.cpus[1] == 0, "... taken as given");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 2, 0, "1,1", &set, err, sizeof(err)), 0,
		   "--cpus 1,1");
	TAP_OK(pl.overcommit && pl.host_cpus == 1, "... is overcommit on one host CPU");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 2, 0, "0,7", &set, err, sizeof(err)), -1,
		   "a CPU not allowed");
	TAP_OK(strstr(err, "CPU 7 is not available to this process") != NULL, "... says which");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 2, 0, "0", &set, err, sizeof(err)), -1,
		   "fewer CPUs than vCPUs");
	TAP_OK(strstr(err, "names 1 CPU(s), --vcpus is 2") != NULL, "... says both counts");
	TAP_EQ_INT(hvb_placement_resolve(&pl, 1, 0, "0,1", &set, err, sizeof(err)), -1,
		   "more CPUs than vCPUs");
	for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int r;

		err[0] = '\0';
		r = hvb_placement_resolve(&pl, 2, 0, junk[i], &set, err, sizeof(err));
		TAP_OK(r == -1 && err[0], "hostile --cpus list refused with a message");
	}
	TAP_EQ_INT(hvb_placement_resolve(&pl, 0, 0, NULL, &set, err, sizeof(err)), -1,
		   "--vcpus 0 refused");
	TAP_EQ_INT(hvb_placement_resolve(&pl, HVB_MAX_VCPUS + 1, 0, NULL, &set, err, sizeof(err)),
		   -1, "--vcpus 9 refused");
	TAP_OK(strstr(err, "give 1..8") != NULL, "... with the range");
}

int main(void)
{
	test_round_robin();
	test_list();
	return tap_done();
}
