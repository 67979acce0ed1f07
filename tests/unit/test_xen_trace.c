/*
 * runners/xen/trace.c off Xen: what lands in exits.csv / counters.csv /
 * meta.csv when xentrace works (a stand-in script that "records" the
 * fixture trace of tests/fixtures/xentrace/ and stops on SIGINT like
 * xentrace), and each way it cannot: missing binary, a xentrace that fails,
 * HVB_XENTRACE=0, a PV domain.  Never zeros where nothing was counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "results.h"
#include "sink.h"
#include "runner.h"
#include "tap.h"
#include "xen/trace.h"

static char tmp[] = "/tmp/hvb-xen-trace-XXXXXX";

static void rec(struct hvb_record *r, int type, const char *w, unsigned rep)
{
	memset(r, 0, sizeof(*r));
	r->type = (uint16_t)type;
	r->rep = rep;
	snprintf(r->workload, sizeof(r->workload), "%s", w);
}

/* Rows after marker whose p50,p90,p99,max columns are present and ordered. */
static int latency_ordered(const char *out, const char *marker)
{
	int n = 0;

	for (const char *p = strstr(out, marker); p; p = strstr(p + 1, marker)) {
		double q[4];

		if (sscanf(p + strlen(marker), "%lf,%lf,%lf,%lf", &q[0], &q[1], &q[2], &q[3]) == 4 &&
		    q[0] <= q[1] && q[1] <= q[2] && q[2] <= q[3] && q[3] > 0)
			n++;
	}
	return n;
}

/* One job of two repetitions of micro/hypercall through the trace module;
 * returns the run directory's files concatenated in *out (caller frees). */
static char *job(const char *name, bool pv, int domid)
{
	/* The configuration as `hvbench run` resolves it from the environment
	 * that each case below sets (HVB_XENTRACE). */
	struct hvb_config cfg = { .xentrace = getenv("HVB_XENTRACE") };
	struct hvb_job j = {.tsc_khz = 2400000, .cfg = &cfg};
	struct hvb_sink *s;
	struct hvb_record r;
	struct xen_trace *xt;
	char path[512], *buf = calloc(1, 65536);
	size_t n = 0;

	if (hvb_sink_open(&s, tmp, name) || !buf)
		return buf;
	xt = xen_trace_start(&(const struct hvb_out){ .sink = s, .runner = "xen-pvh" }, pv, &j);
	rec(&r, HVB_REC_CELL_BEGIN, "micro/hypercall", 0);
	r.u64[0] = 40;
	r.u64[1] = 2;
	xen_trace_on_cell(xt, &r);
	for (unsigned i = 0; i < (domid == 3 ? 1u : 2u); i++) {
		rec(&r, HVB_REC_REP_BEGIN, "micro/hypercall", i);
		xen_trace_on_rep(xt, &r, true);
		rec(&r, HVB_REC_REP_END, "micro/hypercall", i);
		xen_trace_on_rep(xt, &r, false);
	}
	xen_trace_finish(xt, domid);
	hvb_sink_close(s, "complete");
	for (const char *const *f = (const char *const[]){"exits.csv", "counters.csv", "meta.csv",
							    "log.txt", NULL}; *f; f++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s/%s", tmp, name, *f);
		fp = fopen(path, "r");
		n += (size_t)snprintf(buf + n, 65536 - n, "== %s\n", *f);
		if (fp) {
			n += fread(buf + n, 1, 65536 - 1 - n, fp);
			fclose(fp);
		}
	}
	return buf;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s++;
	}
	return n;
}

static void expect_unsupported(const char *name, bool pv, const char *why, const char *desc)
{
	char *out = job(name, pv, 1);

	TAP_OK(out && count(out, ",xentrace.exits,,,,xentrace,unsupported,") == 2 &&
		       count(out, why) >= 2 && !strstr(out, ",total,"),
	       desc);
	if (out && !strstr(out, why))
		printf("# %s\n", out);
	free(out);
}

/* A small PV trace: domain 3 runs on pcpu 0, makes xen_version calls and
 * takes a trap between vcpu_op markers for repetition 0. */
static void write_pv_trace(const char *path)
{
	static const uint32_t words[] = {
		0x2001f003, 0, 0, /* cpu change: pcpu 0, byte count patched below */
		0x90021001, 100, 0, 3u << 16, /* runstate runnable -> running, d3v0 */
		0xb020100d, 200, 0, 24 | 1u << 20 | 1u << 22, HVB_CPUID_MARK_BEGIN, 0,
		0x9020100d, 210, 0, 17, 0x9020100d, 220, 0, 17,
		0xb0201103, 230, 0, 0x1000, 0, 13,
		0xb020100d, 300, 0, 24 | 1u << 20 | 1u << 22, HVB_CPUID_MARK_END, 0,
	};
	uint32_t w[sizeof(words) / 4];
	FILE *f = fopen(path, "wb");

	memcpy(w, words, sizeof(w));
	w[2] = (uint32_t)sizeof(w) - 12;
	if (f) {
		fwrite(w, sizeof(w), 1, f);
		fclose(f);
	}
}

int main(void)
{
	char script[600], fixture[512];
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");
	char *out;
	FILE *f;

	if (!mkdtemp(tmp)) {
		TAP_SKIP("no temporary directory");
		return tap_done();
	}
	setenv("TMPDIR", tmp, 1);

	setenv("HVB_XENTRACE", "/nonexistent/xentrace", 1);
	expect_unsupported("missing", false, "xentrace not found",
			   "no xentrace: each repetition unsupported, with the reason");
	setenv("HVB_XENTRACE", "/bin/false", 1);
	expect_unsupported("fails", false, "could not start tracing (exit 1)",
			   "xentrace fails at start: unsupported, with its exit status");
	setenv("HVB_XENTRACE", "0", 1);
	expect_unsupported("off", false, "not collected: HVB_XENTRACE=0",
			   "HVB_XENTRACE=0: unsupported, saying so");

	/* A stand-in xentrace: writes the recorded trace to its last
	 * argument, then waits for SIGINT as xentrace does. */
	snprintf(fixture, sizeof(fixture), "%.*stests/fixtures/xentrace/hypercall-d3.bin",
		 (int)(cut ? cut - src : 0), src);
	snprintf(script, sizeof(script), "%s/xentrace", tmp);
	f = fopen(script, "w");
	if (f) {
		fprintf(f, "#!/bin/sh\nfor a; do last=$a; done\ncat '%s' >\"$last\" || exit 3\n"
			   "trap 'exit 0' INT\nwhile :; do sleep 0.05; done\n",
			fixture);
		fclose(f);
	}
	chmod(script, 0755);
	setenv("HVB_XENTRACE", script, 1);
	out = job("traced", false, 3);
	TAP_OK(out && strstr(out, ",xen-pvh,micro/hypercall,0,total,85,"),
	       "traced: rep 0 has the fixture's 85 exits");
	TAP_OK(out && count(out, ",xentrace,80,") == 4,
	       "traced: total + 3 exit codes (vmmcall, rdtsc, #NM), source xentrace, "
	       "over the repetition's 80 operations (ops column)");
	TAP_OK(out && latency_ordered(out, ",xentrace,80,") == 4,
	       "traced: each row has p50 <= p90 <= p99 <= max, max > 0 (every exit is timed)");
	TAP_OK(out && strstr(out, ",micro/hypercall,0,xentrace.lost_records,0,") &&
		       strstr(out, "ops=80"),
	       "traced: lost_records 0, with the repetition's operations");
	TAP_OK(out && strstr(out, "runner.xen-pvh.exits,xentrace: VM exits per repetition"),
	       "traced: meta says how exits were counted");
	TAP_OK(out && strstr(out, "domain 3: 239 exits"), "traced: log.txt has the summary");
	if (out && !strstr(out, "total,85"))
		printf("# %s\n", out);
	free(out);

	/* A PV domain (domain 3): the stand-in writes a crafted PV trace. */
	snprintf(fixture, sizeof(fixture), "%s/pv.bin", tmp);
	write_pv_trace(fixture);
	f = fopen(script, "w");
	if (f) {
		fprintf(f, "#!/bin/sh\nfor a; do last=$a; done\ncat '%s' >\"$last\" || exit 3\n"
			   "trap 'exit 0' INT\nwhile :; do sleep 0.05; done\n",
			fixture);
		fclose(f);
	}
	out = job("pvtraced", true, 3);
	TAP_OK(out && strstr(out, ",micro/hypercall,0,total,3,,xentrace") &&
		       strstr(out, ",micro/hypercall,0,pv.hypercall.xen_version,2,,xentrace") &&
		       strstr(out, ",micro/hypercall,0,pv.trap,1,,xentrace"),
	       "PV: entries into Xen per repetition, without handling time");
	TAP_OK(out && strstr(out, "runner.xen-pvh.exits,\"xentrace: a PV domU has no VM exits"),
	       "PV: meta says what was counted instead");
	if (out && !strstr(out, "total,3,"))
		printf("# %s\n", out);
	free(out);

	out = job("nomark", false, 2);
	TAP_OK(out && count(out, ",xentrace.exits,,,,xentrace,failed,") == 2 &&
		       strstr(out, "never shows the domain running"),
	       "a trace without the domain: failed, with the reason");
	free(out);
	if (!getenv("HVB_KEEP_TMP")) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd))
			printf("# could not remove %s\n", tmp);
	}
	return tap_done();
}
