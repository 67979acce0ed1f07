/*
 * The Xen runners ("xen-pvh", "xen-pv"): the hvbench guest image as a Xen
 * PVH or PV domU, created and destroyed with libxl (xl.c).  The guest's result records come
 * back framed on its PV console (workloads/console_codec.h), are split out
 * of the console stream (src/console_stream.c) and validated like every
 * other guest's records (src/records.c).
 *
 * Runs in a Xen dom0 as root.  Built without libxl (no libxen-dev), the
 * runner is still listed and says how to get it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvb/abi.h"
#include "records.h"
#include "runner.h"
#include "util.h"
#ifdef HVB_HAVE_LIBXL
#include "console_stream.h"
#include "elf_load.h"
#include "xen/trace.h"
#include "xen/xl.h"
#endif

#define XEN_GUEST_REL   "guest/hvbench-guest.elf"
#define XEN_MEMORY_MB   256
#define XEN_LAST_TEXT   160

/* Set by `hvbench run` on SIGINT/SIGTERM (src/cmd_run.c). */
extern volatile int hvb_interrupted;

/* The guest image: $HVB_GUEST_IMAGE, else guest/hvbench-guest.elf beside
 * the hvbench binary (the build tree layout). */
static void guest_image(char *buf, size_t len)
{
	const char *env = getenv("HVB_GUEST_IMAGE");
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	slash = strrchr(buf, '/');
	if (n <= 0 || !slash || (size_t)(slash - buf) + sizeof(XEN_GUEST_REL) + 1 > len)
		slash = buf + snprintf(buf, len, ".");
	snprintf(slash, len - (size_t)(slash - buf), "/%s", XEN_GUEST_REL);
}

/* How this Xen itself runs: $HVB_XEN_NESTING (set by ci/xen), else a guess
 * from dom0's view of the CPU and platform. */
static const char *nesting(void)
{
	const char *env = getenv("HVB_XEN_NESTING");
	char buf[256];

	if (env && *env)
		return env;
	if (!hvb_read_file("/sys/class/dmi/id/sys_vendor", buf, sizeof(buf)) &&
	    strstr(buf, "QEMU")) {
		FILE *f = fopen("/proc/cpuinfo", "r");
		bool tcg = false;

		while (f && fgets(buf, sizeof(buf), f))
			if (strstr(buf, "model name") && strstr(buf, "QEMU TCG"))
				tcg = true;
		if (f)
			fclose(f);
		return tcg ? "xen under qemu-tcg" : "xen under qemu (kvm or other)";
	}
	return "none detected";
}

/* meta.csv key runner.<name>.<key>. */
static void meta(struct hvb_sink *sink, const struct hvb_runner *r, const char *key,
		 const char *val)
{
	char k[96];

	snprintf(k, sizeof(k), "runner.%s.%s", r->name, key);
	hvb_sink_meta(sink, k, val);
}

#ifndef HVB_HAVE_LIBXL

static bool xen_available(char *why, size_t len)
{
	snprintf(why, len, "hvbench was built without libxl: apt-get install libxen-dev, "
			   "then rebuild (make)");
	return false;
}

static int xen_run(const struct hvb_runner *r, const struct hvb_job *job, struct hvb_sink *sink)
{
	(void)r, (void)job, (void)sink;
	return -ENOSYS;
}

static void xen_describe(const struct hvb_runner *r, struct hvb_sink *sink)
{
	char img[PATH_MAX];

	guest_image(img, sizeof(img));
	meta(sink, r, "libxl", "not built in");
	meta(sink, r, "guest_image", img);
	meta(sink, r, "nesting", nesting());
}

#else /* HVB_HAVE_LIBXL */

/* The PV runner (same image, same console path, another domain type). */
static bool is_pv(const struct hvb_runner *r)
{
	return !strcmp(r->name, "xen-pv");
}

static bool xen_available(char *why, size_t len)
{
	char img[PATH_MAX];

	if (!hvb_xl_available(why, len))
		return false;
	guest_image(img, sizeof(img));
	if (access(img, R_OK)) {
		snprintf(why, len, "guest image %s not found: build it (make), or set "
				   "HVB_GUEST_IMAGE", img);
		return false;
	}
	return true;
}

static void xen_describe(const struct hvb_runner *r, struct hvb_sink *sink)
{
	char buf[PATH_MAX], err[256];
	struct hvb_xl *xl;

	guest_image(buf, sizeof(buf));
	meta(sink, r, "guest_image", buf);
	meta(sink, r, "domain", is_pv(r) ? "pv, 1 vcpu, 256 MiB, libxl" : "pvh, 1 vcpu, 256 MiB, libxl");
	meta(sink, r, "nesting", nesting());
	if (!hvb_xl_open(&xl, false, err, sizeof(err))) {
		if (!hvb_xl_version(xl, buf, sizeof(buf)))
			meta(sink, r, "xen_version", buf);
		hvb_xl_close(xl);
	}
}

/* Check the image before Xen sees it (ELF64, PVH entry note, this hvbench's
 * ABI version: the reference core's parser) and put its SHA-256 in meta. */
static int image_check(const struct hvb_runner *r, const char *path, struct hvb_sink *sink,
		       char *why, size_t len)
{
	char err[200], sha[65];
	struct hv_image img;
	long size = -1;
	void *buf = NULL;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (f && !fseek(f, 0, SEEK_END))
		size = ftell(f);
	if (!f || size <= 0 || (unsigned long long)size > HV_ELF_MAX_SIZE || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)size)) || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		snprintf(why, len, "cannot read guest image %.120s: build it (make) or set "
				   "HVB_GUEST_IMAGE", path);
		rc = -ENOENT;
		goto out;
	}
	rc = hv_elf_parse(buf, (size_t)size, &img, err, sizeof(err));
	if (rc) {
		snprintf(why, len, "guest image %.100s refused: %.120s", path, err);
		goto out;
	}
	hv_sha256_hex(buf, (size_t)size, sha);
	meta(sink, r, "guest_sha256", sha);
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

struct xen_collect {
	struct hvb_rec_consumer *c;
	struct xen_trace *xt;
	struct hvb_console_stream stream;
	char last_text[XEN_LAST_TEXT]; /* last console text line: for failure reasons */
};

static int xen_on_record(void *arg, const struct hvb_record *rec, uint32_t seq)
{
	struct xen_collect *x = arg;

	(void)seq;
	if (hvb_rec_deliver(x->c, rec))
		return -EPROTO;
	if (rec->type == HVB_REC_CELL_BEGIN)
		xen_trace_on_cell(x->xt, rec);
	return 0;
}

static void xen_on_text(void *arg, const char *text, size_t len)
{
	struct xen_collect *x = arg;

	if (len >= sizeof(x->last_text))
		len = sizeof(x->last_text) - 1;
	memcpy(x->last_text, text, len);
	x->last_text[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)x->last_text[i] < 0x20)
			x->last_text[i] = '?';
}

static int xen_on_console(void *arg, const char *buf, size_t len)
{
	struct xen_collect *x = arg;

	return hvb_console_stream_feed(&x->stream, buf, len);
}

/* Why the job ended early (NULL: it did not). */
static void outcome_reason(const struct hvb_xl_outcome *o, const struct xen_collect *x,
			   const struct hvb_job *job, char *why, size_t len)
{
	const char *last = x->last_text[0] ? x->last_text : "(none)";

	why[0] = '\0';
	switch (o->end) {
	case HVB_XL_POWEROFF:
		if (!x->c->done && !o->console_bytes)
			snprintf(why, len, "guest powered off without a byte on its PV console: "
					   "does this guest image support dev=xencons (Xen PV "
					   "console)? (Xen also powers a PVH guest off on cli; hlt)");
		else if (!x->c->done)
			snprintf(why, len, "guest powered off before its DONE record; last console "
					   "line: %s", last);
		break;
	case HVB_XL_TIMEOUT:
		snprintf(why, len, "guest timed out after %.0f s (domain %u destroyed); last "
				   "console line: %s", job->timeout_s, o->domid, last);
		break;
	case HVB_XL_STOPPED:
		snprintf(why, len, "protocol error: %s", x->c->error);
		break;
	default:
		snprintf(why, len, "guest ended with %s (domain %u destroyed); last console "
				   "line: %s", hvb_xl_end_str(o->end), o->domid, last);
		break;
	}
}

static void log_stream(struct hvb_sink *sink, const char *name, const struct hvb_console_stats *s)
{
	if (s->corrupt || s->lost || s->duplicates || s->overlong)
		hvb_sink_log(sink, name, "console: %lu records, %lu corrupt, %lu lost, %lu "
					 "duplicated, %lu over-long lines",
			     s->records, s->corrupt, s->lost, s->duplicates, s->overlong);
}

/*
 * What the guest may use.  PVH: hypercalls, cpuid and MSRs from its ring 0,
 * and hlt (HLT): the runtime halts with interrupts on there, woken by the
 * LAPIC timer Xen emulates (workloads/rt/xen.c), since Xen takes a vCPU
 * that halts with interrupts off down.
 * PV (HVB_CAP_XEN_PV): hypercalls from guest kernel mode (through the int3
 * gate) and cpuid through Xen's forced-emulation prefix (micro.c: a plain
 * cpuid does not trap in a PV guest without CPUID faulting); first touches
 * repeat (RELEASE: the guest unmaps fresh pages itself, mem.c); "hlt" is
 * SCHEDOP_poll with a timeout (HLT: blocked, woken by Xen); no MSRs:
 * Xen's PV MSR emulation answers IA32_TSC_ADJUST with #GP (measured, 4.17).
 */
static unsigned xen_caps(const struct hvb_runner *r)
{
	unsigned caps = is_pv(r) ? HVB_CAP_HYPERCALL | HVB_CAP_CPUID | HVB_CAP_RELEASE |
					   HVB_CAP_XEN_PV | HVB_CAP_HLT
				 : HVB_CAP_HYPERCALL | HVB_CAP_CPUID | HVB_CAP_MSR | HVB_CAP_HLT;

	return caps | (strstr(nesting(), "tcg") ? HVB_CAP_EMULATED : 0);
}

/* --page-size in the guest's page tables; the p2m is Xen's to choose. */
static void describe_pages(const struct hvb_runner *r, const struct hvb_job *job,
			   struct hvb_sink *sink)
{
	char *key = xasprintf("runner.%s.page_size", r->name);

	hvb_sink_meta(sink, key,
		      is_pv(r) ? "4k: Xen PV page tables have 4 KiB pages only"
		      : job->page_kib == HVB_PAGE_2M
			      ? "2m: guest page tables map RAM with 2 MiB pages; p2m page size "
				"is Xen's choice (superpages where it can)"
			      : "4k: guest word pt=4k (4 KiB guest page tables); p2m page size "
				"is Xen's choice (superpages where it can)");
	free(key);
}

static int xen_run(const struct hvb_runner *r, const struct hvb_job *job, struct hvb_sink *sink)
{
	struct hvb_xl_cfg cfg = { .vcpus = 1, .memory_mb = XEN_MEMORY_MB };
	struct hvb_rec_consumer c;
	struct hvb_xl_outcome o = { .domid = 0 };
	struct xen_collect x = { .c = &c };
	struct xen_trace *xt = NULL;
	char img[PATH_MAX], why[400] = "", err[256] = "";
	struct hvb_xl *xl;
	char *cmdline;
	int rc;

	guest_image(img, sizeof(img));
	hvb_rec_init(&c, r->name, job, sink);
	hvb_console_stream_init(&x.stream, xen_on_record, xen_on_text, &x);
	/* --page-size: PV has 4 KiB pages only (cmd_run refuses 2m for it). */
	cmdline = xasprintf("%s%s dev=xencons caps=0x%x", job->cmdline,
			    is_pv(r) || job->page_kib == HVB_PAGE_2M ? "" : " pt=4k", xen_caps(r));
	describe_pages(r, job, sink);
	cfg.kernel = img;
	cfg.pv = is_pv(r);
	cfg.cmdline = cmdline;
	cfg.cpu = job->cpu;
	cfg.timeout_s = job->timeout_s;
	cfg.on_console = xen_on_console;
	cfg.arg = &x;
	rc = image_check(r, img, sink, err, sizeof(err));
	if (!rc) {
		/* Exit accounting: xentrace runs from before the domain exists
		 * (a PV domU has none: trace.c records why). */
		xt = xen_trace_start(r->name, is_pv(r), job, sink);
		c.on_rep = xt ? xen_trace_on_rep : NULL;
		c.arg = x.xt = xt;
		rc = hvb_xl_open(&xl, false, err, sizeof(err));
	}
	if (!rc) {
		rc = hvb_xl_run(xl, &cfg, &o, err, sizeof(err));
		hvb_xl_close(xl);
	}
	if (rc) {
		snprintf(why, sizeof(why), "%s", err);
	} else {
		hvb_console_stream_finish(&x.stream);
		outcome_reason(&o, &x, job, why, sizeof(why));
	}
	xen_trace_finish(xt, o.domid ? (int)o.domid : -1); /* a domU is never domain 0 */
	log_stream(sink, r->name, &x.stream.stats);
	if (why[0])
		hvb_sink_log(sink, r->name, "%s", why);
	hvb_rec_finish(&c, why[0] ? why : NULL);
	free(cmdline);
	if (rc == -EINTR)
		hvb_interrupted = SIGINT;
	return rc == -EINTR ? -EINTR : 0;
}

#endif /* HVB_HAVE_LIBXL */

static const struct hvb_runner xen_pvh_runner = {
	.name = "xen-pvh",
	.desc = "the guest image as a Xen PVH domU (libxl; run in dom0 as root)",
	.in_default = true,
	.available = xen_available,
	.describe = xen_describe,
	.run = xen_run,
};
HVB_RUNNER(xen_pvh_runner);

static const struct hvb_runner xen_pv_runner = {
	.name = "xen-pv",
	.desc = "the guest image as a Xen PV domU (libxl; run in dom0 as root)",
	.in_default = true,
	.pages_4k_only = true,
	.available = xen_available,
	.describe = xen_describe,
	.run = xen_run,
};
HVB_RUNNER(xen_pv_runner);
