/*
 * probes/xentrace.c: the xentrace file parser, on crafted traces (cpu
 * changes, markers, lost records, unknown events, malformed input) and on a
 * trace recorded under real Xen 4.17 (tests/fixtures/xentrace/README.md),
 * whose expected counts come from xenalyze, not from this parser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvb/abi.h"
#include "tap.h"
#include "xentrace.h"

#define CPU_CHANGE   0x2001f003u
#define LOST         0x0001f001u
#define RUNSTATE     0x00021001u
#define VMENTRY      0x00081001u
#define VMEXIT64     0x00081102u
#define HVM_CPUID    0x0008200eu
#define SVM_CPUID    0x72u
#define SVM_VMMCALL  0x81u
#define SVM_NPF      0x400u
#define DOM          5

/* A trace being built: windows of records. */
struct tb {
	unsigned char buf[8192];
	size_t len, win; /* win: offset of the open window's byte count */
};

static void put32(struct tb *b, uint32_t v)
{
	memcpy(b->buf + b->len, &v, 4);
	b->len += 4;
}

static void window(struct tb *b, unsigned cpu)
{
	put32(b, CPU_CHANGE);
	put32(b, cpu);
	b->win = b->len;
	put32(b, 0);
}

static void window_end(struct tb *b)
{
	uint32_t n = (uint32_t)(b->len - b->win - 4);

	memcpy(b->buf + b->win, &n, 4);
}

/* A record with a TSC (tsc != 0) or without, and n data words. */
static void rec(struct tb *b, uint32_t event, uint64_t tsc, unsigned n, const uint32_t *d)
{
	put32(b, event | (uint32_t)n << 28 | (tsc ? 1u << 31 : 0));
	if (tsc) {
		put32(b, (uint32_t)tsc);
		put32(b, (uint32_t)(tsc >> 32));
	}
	for (unsigned i = 0; i < n; i++)
		put32(b, d[i]);
}

static void run(struct tb *b, uint64_t tsc, uint16_t dom, uint16_t vcpu, bool running)
{
	uint32_t d = (uint32_t)dom << 16 | vcpu;

	/* old state runnable (1), new state running (0) or blocked (2) */
	rec(b, RUNSTATE | 1u << 8 | (running ? 0u : 2u) << 4, tsc, 1, &d);
}

static void exit_(struct tb *b, uint64_t tsc, uint32_t code)
{
	uint32_t d[3] = {code, 0x1000, 0};

	rec(b, VMEXIT64, tsc, 3, d);
	rec(b, VMENTRY, tsc + 100, 0, NULL);
}

static void marker(struct tb *b, uint64_t tsc, uint32_t leaf, uint32_t rep)
{
	uint32_t e[3] = {SVM_CPUID, 0x2000, 0}, d[6] = {leaf, rep, 0, 0, 0, 0};

	rec(b, VMEXIT64, tsc, 3, e);
	rec(b, HVM_CPUID, 0, 6, d);
	rec(b, VMENTRY, tsc + 50, 0, NULL);
}

static uint64_t reason(const struct xt_counts *c, uint32_t code)
{
	for (size_t i = 0; i < c->n_reasons; i++)
		if (c->reasons[i].code == code)
			return c->reasons[i].count;
	return 0;
}

/* Rep 0 on cpu 0, then the vCPU moves to cpu 1 (whose window comes first in
 * the file), rep 1 there; another domain's exits on cpu 1 in between. */
static void build_good(struct tb *b)
{
	uint32_t lost[4] = {7, DOM << 16, 5050, 0}, unk[2] = {1, 2};

	window(b, 1);
	run(b, 9000, 2, 0, true); /* someone else */
	exit_(b, 9100, SVM_VMMCALL);
	run(b, 9200, 2, 0, false);
	run(b, 10000, DOM, 0, true);
	marker(b, 10100, HVB_CPUID_MARK_BEGIN, 1);
	exit_(b, 10200, SVM_NPF);
	rec(b, 0x0008f0f0u, 10300, 2, unk); /* an event this parser does not know */
	marker(b, 10400, HVB_CPUID_MARK_END, 1);
	window_end(b);
	window(b, 0);
	run(b, 1000, DOM, 0, true);
	exit_(b, 1100, SVM_CPUID); /* before the repetition */
	marker(b, 2000, HVB_CPUID_MARK_BEGIN, 0);
	exit_(b, 3000, SVM_CPUID);
	exit_(b, 4000, SVM_CPUID);
	exit_(b, 5000, SVM_VMMCALL);
	rec(b, LOST, 6000, 4, lost);
	marker(b, 7000, HVB_CPUID_MARK_END, 0);
	run(b, 8000, DOM, 0, false);
	window_end(b);
}

static void test_good(void)
{
	struct tb b = {0};
	struct xt_trace t;
	int rc;

	build_good(&b);
	rc = xt_parse(b.buf, b.len, DOM, &t);
	TAP_EQ_INT(rc, 0, "crafted trace parses");
	if (rc) {
		printf("# %s\n", t.error);
		return;
	}
	TAP_EQ_INT(t.windows, 2, "two cpu-change windows");
	TAP_EQ_INT(t.ncpus, 2, "two pcpus");
	TAP_OK(t.domain_seen, "the domain was seen running");
	TAP_EQ_INT(t.domain.exits, 9, "domain: every exit of ours, markers included");
	TAP_EQ_INT(t.unknown, 1, "the unknown event is counted, not an error");
	TAP_EQ_INT(t.lost, 7, "lost records counted");
	TAP_EQ_INT(t.n_reps, 2, "two marked repetitions");
	if (t.n_reps != 2)
		goto out;
	TAP_OK(t.reps[0].rep == 0 && t.reps[1].rep == 1,
	       "repetitions in time order, although cpu 1's window comes first");
	TAP_OK(t.reps[0].closed && t.reps[1].closed, "both closed");
	TAP_EQ_INT(t.reps[0].c.exits, 3, "rep 0: the exits between the markers only");
	TAP_EQ_INT(reason(&t.reps[0].c, SVM_CPUID), 2, "rep 0: the marker exits are not counted");
	TAP_EQ_INT(reason(&t.reps[0].c, SVM_VMMCALL), 1, "rep 0: vmmcall");
	TAP_EQ_INT(t.reps[0].lost, 7, "rep 0: records lost while it was open");
	TAP_EQ_INT(t.reps[0].c.cycles, 300, "rep 0: VMEXIT..VMENTRY cycles");
	TAP_EQ_INT(t.reps[1].c.exits, 1, "rep 1 on the other pcpu: npf only");
	TAP_EQ_INT(reason(&t.reps[1].c, SVM_VMMCALL), 0,
		   "rep 1: the other domain's exit on that pcpu is not ours");
	TAP_EQ_INT(t.reps[1].lost, 0, "rep 1: nothing lost");
out:
	xt_trace_free(&t);
}

static void expect_error(const unsigned char *buf, size_t len, const char *what, const char *desc)
{
	struct xt_trace t;
	int rc = xt_parse(buf, len, DOM, &t);

	TAP_OK(rc == -EPROTO && strstr(t.error, what), desc);
	printf("# %s\n", t.error);
	TAP_OK(t.reps == NULL && t.domain.reasons == NULL, "nothing left allocated on error");
}

static void test_malformed(void)
{
	struct tb b = {0}, c = {0};
	uint32_t d[2] = {0, 0};

	build_good(&b);
	expect_error(b.buf, b.len - 2, "truncated", "a file cut inside a window is truncated");
	expect_error(b.buf, 7, "inside a cpu-change", "a file cut inside a cpu-change record");
	expect_error(b.buf + 4, b.len - 4, "expected a cpu-change", "not starting with a window");

	/* A record claiming more data than its window holds. */
	window(&c, 0);
	put32(&c, VMEXIT64 | 7u << 28 | 1u << 31);
	put32(&c, 1);
	window_end(&c);
	expect_error(c.buf, c.len, "runs past", "a record running past its window");

	/* A cpu-change record inside a window. */
	memset(&c, 0, sizeof(c));
	window(&c, 0);
	rec(&c, 0x0001f003u, 0, 2, d);
	window_end(&c);
	expect_error(c.buf, c.len, "inside the window", "a cpu-change record inside a window");

	/* An empty file is a trace with nothing in it. */
	struct xt_trace t;

	TAP_OK(xt_parse(c.buf, 0, DOM, &t) == 0 && !t.domain_seen && !t.n_reps,
	       "an empty trace parses, and the domain was not seen");
	xt_trace_free(&t);
}

static void test_unmatched(void)
{
	struct tb b = {0};
	struct xt_trace t;

	window(&b, 0);
	run(&b, 100, DOM, 0, true);
	marker(&b, 200, HVB_CPUID_MARK_END, 3); /* end without begin */
	marker(&b, 300, HVB_CPUID_MARK_BEGIN, 4);
	exit_(&b, 400, SVM_VMMCALL); /* guest stops inside the repetition */
	window_end(&b);
	TAP_EQ_INT(xt_parse(b.buf, b.len, DOM, &t), 0, "unmatched markers parse");
	TAP_EQ_INT(t.stray_marks, 1, "an end marker without a begin is stray");
	TAP_OK(t.n_reps == 1 && !t.reps[0].closed && t.reps[0].c.exits == 1,
	       "a repetition without an end marker stays open");
	xt_trace_free(&t);
}

/* A PV domain: hypercalls and traps are its entries into Xen; vcpu_op
 * markers bracket the repetition and are not counted. */
static void test_pv(void)
{
	struct tb b = {0};
	struct xt_trace t;
	uint32_t xv[1] = {17}, hc99[1] = {99}, trap[3] = {0x1000, 0, 13 | 1u << 15};
	uint32_t pf[4] = {0x1000, 0, 0x2000, 0}, other[1] = {17};
	uint32_t mb[3] = {24 | 1u << 20 | 1u << 22, HVB_CPUID_MARK_BEGIN, 0};
	uint32_t me[3] = {24 | 1u << 20 | 1u << 22, HVB_CPUID_MARK_END, 0};
	char name[64];

	window(&b, 0);
	run(&b, 100, 0, 0, true);
	rec(&b, 0x0020100du, 110, 1, other); /* dom0's hypercall */
	run(&b, 120, 0, 0, false);
	run(&b, 200, DOM, 0, true);
	rec(&b, 0x0020100du, 210, 1, xv); /* before the repetition */
	rec(&b, 0x0020100du, 300, 3, mb);
	rec(&b, 0x0020100du, 310, 1, xv);
	rec(&b, 0x0020100du, 320, 1, xv);
	rec(&b, 0x0020100du, 330, 1, hc99);
	rec(&b, 0x00201103u, 340, 3, trap);
	rec(&b, 0x00201104u, 350, 4, pf);
	rec(&b, 0x0020100du, 400, 3, me);
	window_end(&b);
	TAP_EQ_INT(xt_parse(b.buf, b.len, DOM, &t), 0, "PV trace parses");
	TAP_EQ_INT(t.domain.exits, 6, "PV: the domain's entries, markers not counted");
	TAP_OK(t.n_reps == 1 && t.reps[0].closed, "PV: vcpu_op markers bracket the repetition");
	if (t.n_reps == 1) {
		TAP_EQ_INT(t.reps[0].c.exits, 5, "PV: 5 entries in the repetition");
		TAP_EQ_INT(reason(&t.reps[0].c, XT_PV_HYPERCALL(17)), 2, "PV: 2 xen_version");
		TAP_EQ_INT(reason(&t.reps[0].c, XT_PV_EVENT(3)), 1, "PV: 1 trap (64-bit record)");
		TAP_EQ_INT(t.reps[0].c.cycles, 0, "PV: no VMENTRY, no cycles");
	}
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, XT_PV_HYPERCALL(17), name, sizeof(name)),
		       "pv.hypercall.xen_version"), "PV name: hypercall");
	TAP_OK(!strcmp(xt_exit_name(XT_VMX, XT_PV_HYPERCALL(99), name, sizeof(name)),
		       "pv.hypercall.99"), "PV name: unknown hypercall");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, XT_PV_EVENT(4), name, sizeof(name)),
		       "pv.page_fault"), "PV name: page fault");
	xt_trace_free(&t);
}

static void test_names(void)
{
	char b[64];

	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x72, b, sizeof(b)), "svm.cpuid"), "svm cpuid");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x81, b, sizeof(b)), "svm.vmmcall"), "svm vmmcall");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x7b, b, sizeof(b)), "svm.ioio"), "svm ioio");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x4e, b, sizeof(b)), "svm.exception_pf"), "svm #PF");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x14, b, sizeof(b)), "svm.cr4_write"), "svm cr4 write");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x400, b, sizeof(b)), "svm.npf"), "svm npf");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x8d, b, sizeof(b)), "svm.xsetbv"), "svm xsetbv");
	TAP_OK(!strcmp(xt_exit_name(XT_SVM, 0x3ff, b, sizeof(b)), "svm.0x3ff"), "svm unknown");
	TAP_OK(!strcmp(xt_exit_name(XT_VMX, 10, b, sizeof(b)), "vmx.cpuid"), "vmx cpuid");
	TAP_OK(!strcmp(xt_exit_name(XT_VMX, 18, b, sizeof(b)), "vmx.vmcall"), "vmx vmcall");
	TAP_OK(!strcmp(xt_exit_name(XT_VMX, 48, b, sizeof(b)), "vmx.ept_violation"), "vmx ept");
	TAP_OK(!strcmp(xt_exit_name(XT_VMX, 35, b, sizeof(b)), "vmx.0x23"), "vmx gap");
	TAP_OK(!strcmp(xt_exit_name(XT_VMX, 0x80000021u, b, sizeof(b)), "vmx.0x80000021"),
	       "vmx entry failure");
}

/* Damaged copies of the recorded trace (fixed seed): each either parses or
 * is refused with a reason; under make check, ASan/UBSan watch the reads. */
static void test_damage(const char *path)
{
	static unsigned char orig[32768], buf[32768];
	unsigned long ok = 0, refused = 0, silent = 0;
	unsigned seed = 12345;
	size_t len;
	FILE *f = fopen(path, "rb");

	len = f ? fread(orig, 1, sizeof(orig), f) : 0;
	if (f)
		fclose(f);
	for (int i = 0; i < 400 && len; i++) {
		size_t n = len;
		struct xt_trace t;

		memcpy(buf, orig, len);
		for (int k = 0; k < 1 + i % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % len] ^= (unsigned char)(1u << (seed >> 28 & 7));
		}
		if (i % 3 == 0)
			n = (seed >> 4) % len;
		if (xt_parse(buf, n, 3, &t) == 0) {
			ok++;
			xt_trace_free(&t);
		} else if (t.error[0]) {
			refused++;
		} else {
			silent++;
		}
	}
	printf("# damaged traces: %lu parsed, %lu refused\n", ok, refused);
	TAP_OK(len && silent == 0 && ok + refused == 400,
	       "400 damaged traces: each parses or is refused with a reason");
}

/*
 * The recorded trace (tests/fixtures/xentrace/README.md): domain 3 ran
 * micro/hypercall, one repetition.  Domain totals as xenalyze 4.17 counts
 * them (plus the last VMMCALL, SCHEDOP_shutdown, which xenalyze leaves out
 * for want of a VMENTRY); the repetition's counts as an independent scan of
 * the file between the two markers found them.
 */
static void test_fixture(void)
{
	static const struct { uint32_t code; uint64_t n; } dom[] = {
		{0x04, 1}, {0x10, 1}, {0x14, 2}, {0x47, 4}, {0x60, 3},
		{0x6e, 25}, {0x72, 5}, {0x7c, 2}, {0x81, 196},
	};
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");
	char path[512];
	struct xt_trace t;
	bool all = true;
	int rc;

	snprintf(path, sizeof(path), "%.*stests/fixtures/xentrace/hypercall-d3.bin",
		 (int)(cut ? cut - src : 0), src);
	rc = xt_parse_file(path, 3, &t);
	TAP_EQ_INT(rc, 0, "recorded trace parses");
	if (rc) {
		printf("# %s\n", t.error);
		return;
	}
	TAP_OK(t.windows == 2 && t.ncpus == 1 && t.lost == 0, "2 windows, 1 pcpu, nothing lost");
	TAP_OK(t.domain_seen, "domain 3 seen running");
	TAP_EQ_INT(t.domain.exits, 239, "domain 3: 239 exits");
	TAP_EQ_INT(t.domain.n_reasons, 9, "domain 3: 9 exit codes");
	for (size_t i = 0; i < sizeof(dom) / sizeof(dom[0]); i++)
		if (reason(&t.domain, dom[i].code) != dom[i].n) {
			printf("# code 0x%x: %llu, xenalyze %llu\n", dom[i].code,
			       (unsigned long long)reason(&t.domain, dom[i].code),
			       (unsigned long long)dom[i].n);
			all = false;
		}
	TAP_OK(all, "domain 3: every exit code counted as xenalyze does");
	TAP_EQ_INT(t.domain.reasons[0].cycles, 298192, "cr4_read: xenalyze's cycles");
	TAP_EQ_INT(t.domain.reasons[7].cycles, 153940 + 1213756, "msr: xenalyze's cycles");
	TAP_EQ_INT(t.n_reps, 1, "one marked repetition");
	if (t.n_reps == 1) {
		TAP_OK(t.reps[0].rep == 0 && t.reps[0].closed && t.reps[0].lost == 0,
		       "rep 0, closed, nothing lost");
		TAP_EQ_INT(t.reps[0].c.exits, 85, "rep 0: 85 exits");
		TAP_EQ_INT(reason(&t.reps[0].c, 0x81), 80, "rep 0: 80 vmmcall (the hypercalls)");
		TAP_EQ_INT(reason(&t.reps[0].c, 0x6e), 4, "rep 0: 4 rdtsc (batch timing)");
		TAP_EQ_INT(reason(&t.reps[0].c, 0x47), 1, "rep 0: 1 #NM");
		TAP_EQ_INT(reason(&t.reps[0].c, 0x72), 0, "rep 0: no cpuid (markers excluded)");
	}
	xt_trace_free(&t);
	test_damage(path);
}

/* The recorded PV trace: dom0's own entries into Xen (dom0 is PV), as
 * xenalyze 4.17 counts them (tests/fixtures/xentrace/README.md). */
static void test_fixture_pv(void)
{
	static const struct { uint32_t code; uint64_t n; } dom0[] = {
		{XT_PV_EVENT(6), 15}, {XT_PV_HYPERCALL(3), 15}, {XT_PV_HYPERCALL(17), 1},
		{XT_PV_HYPERCALL(23), 29}, {XT_PV_HYPERCALL(24), 33}, {XT_PV_HYPERCALL(25), 15},
		{XT_PV_HYPERCALL(29), 14},
	};
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");
	char path[512];
	struct xt_trace t;
	bool all = true;

	snprintf(path, sizeof(path), "%.*stests/fixtures/xentrace/pv-dom0.bin",
		 (int)(cut ? cut - src : 0), src);
	if (!TAP_EQ_INT(xt_parse_file(path, 0, &t), 0, "recorded PV trace parses")) {
		printf("# %s\n", t.error);
		return;
	}
	TAP_EQ_INT(t.domain.exits, 122, "dom0: 122 entries into Xen");
	TAP_EQ_INT(t.domain.n_reasons, 7, "dom0: 7 kinds");
	for (size_t i = 0; i < sizeof(dom0) / sizeof(dom0[0]); i++)
		if (reason(&t.domain, dom0[i].code) != dom0[i].n)
			all = false;
	TAP_OK(all, "dom0: every hypercall and event counted as xenalyze does");
	xt_trace_free(&t);
}

int main(void)
{
	test_good();
	test_malformed();
	test_unmatched();
	test_pv();
	test_names();
	test_fixture();
	test_fixture_pv();
	return tap_done();
}
