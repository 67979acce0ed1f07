/*
 * perf_event counters through libpfm4, on the test process itself.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hvb/abi.h"
#include "perf.h"
#include "tap.h"

static volatile uint64_t sink;

static void busy(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink += i * 2654435761u;
}

static int find(const struct hvb_perf *p, const char *name)
{
	for (unsigned i = 0; i < hvb_perf_count(p); i++)
		if (!strcmp(hvb_perf_name(p, i), name))
			return (int)i;
	return -1;
}

/* Can the kernel count hardware cycles at all?  (Independent of our code.) */
static bool raw_cycles_ok(void)
{
	struct perf_event_attr a = { .type = PERF_TYPE_HARDWARE, .size = sizeof(a),
				     .config = PERF_COUNT_HW_CPU_CYCLES, .exclude_kernel = 1,
				     .exclude_hv = 1 };
	int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_errors(void)
{
	const char *bad[] = { "task-clock", "no-such-event-xyz" };
	char err[256] = "", list[] = "cycles, task-clock,page-faults";
	const char *names[4];
	struct hvb_perf *p;

	TAP_EQ_INT(hvb_perf_open(&p, 0, bad, 2, err, sizeof(err)), -EINVAL,
		   "unknown event name fails the open");
	printf("# %s\n", err);
	TAP_OK(strstr(err, "no-such-event-xyz") && strstr(err, "unknown event"),
	       "the error names the unknown event");
	TAP_OK(p == NULL, "nothing returned on error");
	TAP_EQ_INT(hvb_perf_parse_list(list, names, 4), 3, "event list parsed");
	TAP_EQ_STR(names[1], "task-clock", "list item trimmed");
	TAP_EQ_INT(hvb_perf_probe("no-such-event-xyz", err, sizeof(err)), -EINVAL,
		   "probe of an unknown name is an error");
}

static void test_counting(void)
{
	struct hvb_perf *p;
	struct hvb_perf_snap a, b, c;
	struct hvb_perf_value v;
	char err[256] = "";
	int r, tc, pf, cyc;
	const size_t pages = 256;
	char *mem;

	r = hvb_perf_open(&p, 0, hvb_perf_default_events, hvb_perf_n_default, err, sizeof(err));
	if (!TAP_EQ_INT(r, 0, "default event list opened on self")) {
		printf("# %s\n", err);
		return;
	}
	tc = find(p, "task-clock");
	pf = find(p, "page-faults");
	cyc = find(p, "cycles");
	TAP_OK(tc >= 0 && pf >= 0 && cyc >= 0, "default list has cycles, task-clock, page-faults");
	TAP_OK(hvb_perf_supported(p, (unsigned)tc, NULL), "task-clock supported");
	TAP_EQ_STR(hvb_perf_source(p, (unsigned)tc), "software", "task-clock is a software event");
	TAP_EQ_STR(hvb_perf_source(p, (unsigned)cyc), "pmu", "cycles is a PMU event");

	/* Busy loop: task-clock moves, in ns, without multiplexing. */
	TAP_EQ_INT(hvb_perf_read(p, &a), 0, "read");
	busy(20 * 1000 * 1000);
	hvb_perf_read(p, &b);
	hvb_perf_delta(p, &a, &b, (unsigned)tc, &v);
	printf("# task-clock %.0f ns, enabled %llu running %llu\n", v.value,
	       (unsigned long long)v.enabled, (unsigned long long)v.running);
	TAP_OK(v.has_value && v.value > 0 && v.status == HVB_ST_OK, "busy loop: task-clock > 0");
	TAP_OK(v.enabled > 0 && v.running == v.enabled && !v.note[0],
	       "software counter not multiplexed, not marked");

	/* Fresh 4 KiB pages (no THP): one fault each at least, every time
	 * (page-faults grouped under task-clock once read 0 most rounds). */
	for (int round = 0; round < 8; round++) {
		mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		madvise(mem, pages * 4096, MADV_NOHUGEPAGE);
		hvb_perf_read(p, &a);
		for (size_t i = 0; i < pages; i++)
			mem[i * 4096] = 1;
		hvb_perf_read(p, &b);
		munmap(mem, pages * 4096);
		hvb_perf_delta(p, &a, &b, (unsigned)pf, &v);
		if (!v.has_value || v.value < pages)
			break;
	}
	printf("# page-faults %+.0f after touching %zu fresh pages\n", v.value, pages);
	TAP_OK(v.has_value && v.value >= pages,
	       "touching fresh pages raises page-faults by one per page, every round");

	/* Disabled counters do not move. */
	TAP_EQ_INT(hvb_perf_disable(p), 0, "disable");
	hvb_perf_read(p, &a);
	busy(5 * 1000 * 1000);
	hvb_perf_read(p, &b);
	hvb_perf_delta(p, &a, &b, (unsigned)tc, &v);
	TAP_OK(!v.has_value && v.enabled == 0,
	       "disabled: no interval, reported without a value (not zero)");
	TAP_EQ_INT(hvb_perf_enable(p), 0, "enable");
	busy(5 * 1000 * 1000);
	hvb_perf_read(p, &c);
	hvb_perf_delta(p, &b, &c, (unsigned)tc, &v);
	TAP_OK(v.has_value && v.value > 0, "re-enabled: counting again");

	/* Hardware events: supported exactly when the kernel can count them,
	 * and unsupported ones have no value and a reason. */
	TAP_EQ_INT(hvb_perf_supported(p, (unsigned)cyc, NULL), raw_cycles_ok(),
		   "cycles supported iff the kernel counts PERF_COUNT_HW_CPU_CYCLES");
	for (unsigned i = 0; i < hvb_perf_count(p); i++) {
		const char *why;
		char desc[160];

		hvb_perf_delta(p, &b, &c, i, &v);
		if (hvb_perf_supported(p, i, &why)) {
			printf("# %-18s %-8s %.0f\n", v.event, v.source, v.value);
			continue;
		}
		printf("# %-18s %-8s unsupported: %s\n", v.event, v.source, why);
		snprintf(desc, sizeof(desc), "%s unsupported: no value, status, reason", v.event);
		TAP_OK(!v.has_value && v.status == HVB_ST_UNSUPPORTED && v.note[0], desc);
	}
	hvb_perf_close(p);
}

/* perf event fds this process has open (anon_inode:[perf_event]). */
static int perf_fds(void)
{
	char path[64], target[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strstr(target, "perf_event") != NULL;
	}
	return n;
}

/*
 * The kernel's static keys of software events are held for the process
 * (perf.c hold_sw_key, issue 14): after the first open of page-faults and
 * context-switches a disabled event of each stays open, closing the
 * counters leaves those two fds, and opening them again adds no holder.
 * task-clock has no key and gets none.  Runs first: nothing opened yet.
 */
static void test_sw_keys_held(void)
{
	const char *const keyed[] = { "page-faults", "context-switches" };
	const char *const clock[] = { "task-clock" };
	struct hvb_perf *p;
	char err[256] = "";
	int before;

	TAP_EQ_INT(hvb_perf_sw_keys_held(), 0, "no software key held before any open");
	if (!TAP_EQ_INT(hvb_perf_open(&p, 0, clock, 1, err, sizeof(err)), 0, "task-clock opened"))
		printf("# %s\n", err);
	else
		hvb_perf_close(p);
	TAP_EQ_INT(hvb_perf_sw_keys_held(), 0, "task-clock holds no key (it has none)");
	before = perf_fds();
	if (!TAP_EQ_INT(hvb_perf_open(&p, 0, keyed, 2, err, sizeof(err)), 0,
			"page-faults and context-switches opened")) {
		printf("# %s\n", err);
		return;
	}
	if (!hvb_perf_supported(p, 0, NULL) || !hvb_perf_supported(p, 1, NULL)) {
		hvb_perf_close(p);
		TAP_SKIP("software events refused here: nothing to hold");
		return;
	}
	TAP_EQ_INT(hvb_perf_sw_keys_held(), 2, "their two keys are held");
	hvb_perf_close(p);
	TAP_EQ_INT(perf_fds() - before, 2, "closing the counters leaves the two holders open");
	if (TAP_EQ_INT(hvb_perf_open(&p, 0, keyed, 2, err, sizeof(err)), 0, "opened again"))
		hvb_perf_close(p);
	TAP_EQ_INT(perf_fds() - before, 2, "... and no second holder was added");
	TAP_EQ_INT(hvb_perf_sw_keys_held(), 2, "still two keys held");
}

int main(void)
{
	char pmu[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_sw_keys_held();
	test_errors();
	test_counting();
	hvb_perf_pmu_summary(pmu, sizeof(pmu));
	printf("# pmu: %s\n", pmu);
	TAP_OK(raw_cycles_ok() ? strncmp(pmu, "none", 4) != 0 : strncmp(pmu, "none", 4) == 0,
	       "PMU summary agrees with the kernel");
	return tap_done();
}
