/*
 * Measurement harness (see harness.h).  Method, as kvm-unit-tests vmexit.c:
 * calibrate the operation count n so one batch takes about the time goal,
 * warm up with one more batch, then per repetition time `batches` batches
 * with serialized TSC reads.  The repetition's value is total time / total
 * operations; the spread within it is given as percentiles of the batches.
 * Workloads with per_request (io/) also time every request themselves
 * (rt_req_time), and may time named parts of them (rt_req_part): the
 * harness keeps those of the measured batches and gives their percentiles
 * per repetition.  Workloads with counts_loss (net/)
 * say per batch how many operations did not happen (rt_lost) and how many
 * arrived out of order (rt_reordered): the kind's metrics are then per
 * delivered operation, and lost / loss_pct / reordered are emitted per
 * repetition.  Workloads with smp, given more than one CPU, are also run
 * on all of them at once after each repetition (SMP section below).
 */
#include "harness.h"

extern const struct hvb_workload *const __start_hvb_workloads[];
extern const struct hvb_workload *const __stop_hvb_workloads[];

static uint64_t tsc_khz;
static uint32_t caps;
static const char *harness_cmdline = "";
static const char *fail_why; /* rt_fail of the cell being measured */
static const char *cpus_why; /* vcpus= asked for CPUs this environment does not have */

/*
 * Request times (cycles) of the repetition being measured: kept only while
 * a measured batch runs (not during calibration or warm-up), up to
 * HVB_REQ_MAX; the rest are counted as dropped.  The buffer comes from
 * rt_alloc (512 KiB) for the cell of a per_request workload only.
 */
static struct {
	uint64_t *v;
	size_t kept;
	uint64_t dropped;
	bool on;
	/* rt_req_part's values, per named part (req_parts), kept the same way */
	uint64_t *part[HVB_REQ_PARTS];
	size_t part_kept[HVB_REQ_PARTS];
	uint64_t count; /* rt_req_count's total of the repetition (req_count) */
} req;

/*
 * Loss of the batch being run (rt_lost / rt_reordered, counts_loss
 * workloads): counted only while a measured batch runs, its after_batch
 * included, so calibration and warm-up do not count; `delivered` and the
 * totals are the repetition's.
 */
static struct {
	uint64_t lost, reordered; /* of the batch being run */
	uint64_t rep_lost, rep_reordered, rep_delivered;
	bool on;
} loss;

#define LOSS_ALL_WHY "net: a batch delivered none of its operations (every one was lost)"

const struct hvb_workload *const *hvb_workloads_begin(void)
{
	return __start_hvb_workloads;
}

const struct hvb_workload *const *hvb_workloads_end(void)
{
	return __stop_hvb_workloads;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void str_copy(char *dst, const char *src, size_t len)
{
	size_t i = 0;
	if (!len)
		return;
	for (; src && src[i] && i + 1 < len; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

const struct hvb_workload *hvb_workload_find(const char *name)
{
	for (const struct hvb_workload *const *w = hvb_workloads_begin(); w < hvb_workloads_end();
	     w++)
		if (str_eq((*w)->name, name))
			return *w;
	return 0;
}

const char *hvb_harness_cmdline(void)
{
	return harness_cmdline;
}

void rt_req_time(struct hvb_ctx *ctx, uint64_t cycles)
{
	(void)ctx;
	if (!req.on)
		return;
	if (req.kept < HVB_REQ_MAX)
		req.v[req.kept++] = cycles;
	else
		req.dropped++;
}

void rt_req_part(struct hvb_ctx *ctx, unsigned part, uint64_t cycles)
{
	(void)ctx;
	if (!req.on || part >= HVB_REQ_PARTS || !req.part[part])
		return;
	if (req.part_kept[part] < HVB_REQ_MAX)
		req.part[part][req.part_kept[part]++] = cycles;
}

void rt_req_count(struct hvb_ctx *ctx, uint64_t n)
{
	(void)ctx;
	if (req.on)
		req.count += n;
}

void rt_lost(struct hvb_ctx *ctx, uint64_t n)
{
	(void)ctx;
	if (loss.on)
		loss.lost += n;
}

void rt_reordered(struct hvb_ctx *ctx, uint64_t n)
{
	(void)ctx;
	if (loss.on)
		loss.reordered += n;
}

void rt_fail(struct hvb_ctx *ctx, const char *why)
{
	(void)ctx;
	if (!fail_why)
		fail_why = why && *why ? why : "the workload reported a failure";
}

uint64_t rt_param(struct hvb_ctx *ctx, const char *name)
{
	for (unsigned i = 0; i < HVB_PARAMS_MAX && ctx->w->params[i].name; i++)
		if (str_eq(ctx->w->params[i].name, name))
			return ctx->param[i];
	rt_fail(ctx, "rt_param: the workload asked for a parameter its descriptor does not "
		     "declare (a bug in the workload)");
	return 0;
}

uint64_t rt_tsc_khz(void)
{
	return tsc_khz;
}

uint32_t rt_caps(void)
{
	return caps;
}

static const char *cap_reason(uint32_t missing)
{
	static const struct {
		uint32_t cap;
		const char *reason;
	} reasons[] = {
		{ HVB_CAP_PIO_USER, "needs the hvbench port device (userspace port I/O exits)" },
		{ HVB_CAP_PIO_KERN, "needs an in-kernel port handler (ioeventfd)" },
		{ HVB_CAP_MMIO_USER, "needs the hvbench MMIO device (userspace MMIO exits)" },
		{ HVB_CAP_MMIO_KERN, "needs an in-kernel MMIO handler (ioeventfd)" },
		{ HVB_CAP_HYPERCALL, "needs a null hypercall that returns on this host" },
		{ HVB_CAP_CPUID, "cpuid cannot be executed where the workload runs on this host" },
		{ HVB_CAP_MSR, "needs rdmsr/wrmsr (guest ring 0) that work on this host" },
		{ HVB_CAP_HLT, "needs hlt with a wake-up source" },
		{ HVB_CAP_RELEASE, "needs a way to return pages to the host (fresh faults)" },
		{ HVB_CAP_BLK, "needs the run's disk, which this runner did not attach" },
		{ HVB_CAP_NET,
		  "needs the run's network link and responder, which this runner did not attach" },
		{ HVB_CAP_IRQ,
		  "needs interrupt delivery (HVB_CAP_IRQ), which this runner has not verified here" },
		{ HVB_CAP_VIRQ,
		  "needs host-injected interrupts (HVB_CAP_VIRQ: the interrupt bench device's irqfd)" },
		{ HVB_CAP_KICK,
		  "needs the interrupt bench device (HVB_CAP_KICK: a host thread stamps each kick)" },
		{ HVB_CAP_ONE_TSC,
		  "no guest/host shared TSC (HVB_CAP_ONE_TSC): see meta runner.kvm.tsc_offset" },
	};
	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (missing & reasons[i].cap)
			return reasons[i].reason;
	return "a required capability is missing on this runner";
}

bool rt_has(uint32_t need, const char **reason)
{
	if ((caps & need) == need)
		return true;
	if (reason)
		*reason = cap_reason(need & ~caps);
	return false;
}

void rt_memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
}

void rt_memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
}

/* ------------------------------------------------------- command line */

bool hvb_cmdline_get(const char *cmdline, const char *key, char *buf, size_t len)
{
	size_t klen = str_len(key);
	const char *p = cmdline;

	while (p && *p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - w) > klen && w[klen] == '=') {
			size_t i;
			for (i = 0; i < klen && w[i] == key[i]; i++)
				;
			if (i == klen) {
				size_t vlen = (size_t)(p - w) - klen - 1;
				if (vlen + 1 > len)
					return false;
				for (i = 0; i < vlen; i++)
					buf[i] = w[klen + 1 + i];
				buf[vlen] = '\0';
				return true;
			}
		}
	}
	return false;
}

bool hvb_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	if (!*s)
		return false;
	for (; *s; s++) {
		uint64_t d;
		if (*s >= '0' && *s <= '9')
			d = (uint64_t)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (uint64_t)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (uint64_t)(*s - 'A' + 10);
		else
			return false;
		if (v > (~0ull - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static uint64_t cmdline_u64(const char *cmdline, const char *key, uint64_t def, bool *ok)
{
	char buf[32];
	uint64_t v;

	if (!hvb_cmdline_get(cmdline, key, buf, sizeof(buf)))
		return def;
	if (!hvb_parse_u64(buf, &v)) {
		*ok = false;
		return def;
	}
	return v;
}

/* ------------------------------------------------------- statistics */

void hvb_sort_doubles(double *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		double x = v[i];
		unsigned j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

double hvb_percentile(const double *sorted, unsigned n, double q)
{
	double pos, frac;
	unsigned i;

	if (!n)
		return 0;
	pos = q * (double)(n - 1);
	i = (unsigned)pos;
	frac = pos - (double)i;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

static void sift_down(uint64_t *v, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		uint64_t t;

		if (child >= n)
			return;
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[root] >= v[child])
			return;
		t = v[root], v[root] = v[child], v[child] = t;
		root = child;
	}
}

void hvb_sort_u64(uint64_t *v, size_t n)
{
	if (n < 2)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		uint64_t t = v[0];

		v[0] = v[end], v[end] = t;
		sift_down(v, 0, end);
	}
}

double hvb_percentile_u64(const uint64_t *sorted, size_t n, double q)
{
	double pos, frac;
	size_t i;

	if (!n)
		return 0;
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	if (i + 1 >= n)
		return (double)sorted[n - 1];
	return (double)sorted[i] + frac * ((double)sorted[i + 1] - (double)sorted[i]);
}

uint64_t hvb_calibrate_next(uint64_t n, uint64_t took, uint64_t goal)
{
	uint64_t next;

	if (took == 0)
		return n * 16;
	/* Aim 10% past the goal so the loop ends; never grow more than 16x per step. */
	next = (uint64_t)((double)n * (double)goal * 1.1 / (double)took);
	if (next > n * 16)
		next = n * 16;
	return next > n ? next : n + 1;
}

uint64_t hvb_req_floor(uint64_t n, uint64_t took, uint64_t goal, unsigned batches,
		       uint64_t min_reqs)
{
	uint64_t want = batches ? (min_reqs + batches - 1) / batches : min_reqs, most;

	if (n >= want)
		return n;
	if (took) {
		most = (uint64_t)((double)n * (double)goal * HVB_REQ_FLOOR_GOALS / (double)took);
		if (most < want)
			want = most;
	}
	return want > n ? want : n;
}

/* ------------------------------------------------------- records */

/* A zeroed record with the ABI header filled in. */
static void record_init(struct hvb_record *r, uint16_t type, const char *workload, unsigned rep)
{
	rt_memset(r, 0, sizeof(*r));
	r->magic = HVB_RECORD_MAGIC;
	r->version = HVB_ABI_VERSION;
	r->type = type;
	r->size = sizeof(*r);
	r->rep = rep;
	str_copy(r->workload, workload, sizeof(r->workload));
}

static void emit(uint16_t type, const char *workload, unsigned rep)
{
	struct hvb_record r;

	record_init(&r, type, workload, rep);
	rt_emit(&r);
}

static void emit_u64(uint16_t type, const char *workload, unsigned rep, uint64_t a, uint64_t b)
{
	struct hvb_record r;

	record_init(&r, type, workload, rep);
	r.u64[0] = a;
	r.u64[1] = b;
	rt_emit(&r);
}

static void emit_status(const char *workload, enum hvb_status st, const char *reason)
{
	struct hvb_record r;

	record_init(&r, HVB_REC_STATUS, workload, 0);
	r.status = st;
	str_copy(r.text, reason, sizeof(r.text));
	rt_emit(&r);
}

static void emit_sample_note(const struct hvb_ctx *c, unsigned rep, const char *metric,
			     const char *unit, int better, double value, const char *note)
{
	struct hvb_record r;

	record_init(&r, HVB_REC_SAMPLE, c->w->name, rep);
	r.better = better;
	r.status = HVB_ST_OK;
	r.value = value;
	str_copy(r.metric, metric, sizeof(r.metric));
	str_copy(r.unit, unit, sizeof(r.unit));
	str_copy(r.text, note, sizeof(r.text));
	rt_emit(&r);
}

static void emit_sample(const struct hvb_ctx *c, unsigned rep, const char *metric,
			const char *unit, int better, double value)
{
	emit_sample_note(c, rep, metric, unit, better, value, c->note);
}

void rt_log(const char *msg)
{
	struct hvb_record r;

	record_init(&r, HVB_REC_LOG, "", 0);
	str_copy(r.text, msg, sizeof(r.text));
	rt_emit(&r);
}

/* Text helpers of workload.h (rt_text_*). */
size_t rt_text_str(char *buf, size_t len, size_t at, const char *s)
{
	while (s && *s && at + 1 < len)
		buf[at++] = *s++;
	if (at < len)
		buf[at] = '\0';
	return at;
}

size_t rt_text_dec(char *buf, size_t len, size_t at, uint64_t v)
{
	char digits[21];
	unsigned n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	while (n && at + 1 < len)
		buf[at++] = digits[--n];
	if (at < len)
		buf[at] = '\0';
	return at;
}

size_t rt_text_hex(char *buf, size_t len, size_t at, uint64_t v)
{
	at = rt_text_str(buf, len, at, "0x");
	for (int shift = 60; shift >= 0; shift -= 4)
		if ((v >> shift || !shift) && at + 1 < len)
			buf[at++] = "0123456789abcdef"[(v >> shift) & 15];
	if (at < len)
		buf[at] = '\0';
	return at;
}

/* ------------------------------------------------------- measurement */

struct plan {
	unsigned rep, reps, batches;
	uint64_t goal_cycles;
	bool quick;
};

/* The operations of a measured batch of n that were delivered (n minus
 * what the workload said was lost, at least 0), added to the repetition's
 * loss counters; a batch that delivered nothing fails the cell. */
static uint64_t batch_delivered(uint64_t n)
{
	uint64_t lost = loss.lost < n ? loss.lost : n;

	loss.rep_lost += lost;
	loss.rep_reordered += loss.reordered;
	loss.rep_delivered += n - lost;
	if (lost == n)
		rt_fail(0, LOSS_ALL_WHY);
	return n - lost;
}

/* One batch of n operations; `keep`: a measured batch, whose request
 * times (rt_req_time) and loss (rt_lost) count for the repetition.  With
 * `delivered`, the batch's delivered operations (n unless counts_loss). */
static uint64_t time_batch(struct hvb_ctx *c, uint64_t n, bool keep, uint64_t *delivered)
{
	const struct hvb_workload *w = c->w;
	uint64_t t0, t1;

	if (w->before_batch)
		w->before_batch(c, n);
	req.on = keep && req.v; /* per_request workloads only */
	loss.on = keep && w->counts_loss;
	loss.lost = loss.reordered = 0;
	t0 = rt_tsc_begin();
	w->run(c, n);
	t1 = rt_tsc_end();
	req.on = false;
	if (w->after_batch)
		w->after_batch(c, n);
	if (delivered)
		*delivered = loss.on ? batch_delivered(n) : n;
	loss.on = false;
	return t1 - t0;
}

/* The operation count per batch that meets the time goal; 0 if the
 * workload failed (rt_fail).  *took: what that count took. */
static uint64_t calibrate_goal(struct hvb_ctx *c, uint64_t goal, uint64_t *took)
{
	const struct hvb_workload *w = c->w;
	uint64_t n = 1;

	/* A request's first run can be far slower than the rest (a cold
	 * device path: QEMU's first flush took > 10 ms where the others took
	 * 0.6 ms), and a batch of one that meets the goal ends calibration:
	 * ten requests per repetition then stand for p99.9.  Warm the path
	 * with one untimed request first. */
	if (w->per_request) {
		(void)time_batch(c, 1, false, 0);
		if (fail_why)
			return 0;
	}
	for (;;) {
		if (w->max_ops && n > w->max_ops)
			n = w->max_ops;
		*took = time_batch(c, n, false, 0);
		if (fail_why)
			return 0;
		if (*took >= goal || (w->max_ops && n >= w->max_ops) || n >= (1ull << 40))
			return n;
		n = hvb_calibrate_next(n, *took, goal);
	}
}

/* The operation count per batch: the time goal's, and for a per_request
 * workload at least its floor of requests per repetition. */
static uint64_t calibrate(struct hvb_ctx *c, const struct plan *p)
{
	const struct hvb_workload *w = c->w;
	uint64_t took = 0, n;

	if (c->fixed_ops)
		return c->fixed_ops;
	n = calibrate_goal(c, p->goal_cycles, &took);
	if (!n || !w->per_request)
		return n;
	n = hvb_req_floor(n, took, p->goal_cycles, p->batches,
			  p->quick ? HVB_REQ_MIN_PER_REP_QUICK : HVB_REQ_MIN_PER_REP);
	return w->max_ops && n > w->max_ops ? w->max_ops : n;
}

static double cycles_to_ns(double cycles)
{
	return cycles * 1e6 / (double)tsc_khz;
}

/* The note of the req_ns rows: the cell's, after what was dropped. */
static const char *req_note(const struct hvb_ctx *c, char *buf, size_t len)
{
	size_t at = 0;

	/* The count first: a reader of p99.9 must see how many values it
	 * stands on. */
	buf[0] = '\0';
	at = rt_text_dec(buf, len, at, req.kept);
	at = rt_text_str(buf, len, at, " request times");
	if (req.dropped) {
		at = rt_text_str(buf, len, at, " kept of ");
		at = rt_text_dec(buf, len, at, req.kept + req.dropped);
		at = rt_text_str(buf, len, at, " (HVB_REQ_MAX)");
	}
	if (c->note && *c->note) {
		at = rt_text_str(buf, len, at, "; ");
		rt_text_str(buf, len, at, c->note);
	}
	return buf;
}

/* <part>.p50 and .p99 of a named request part (rt_req_part) over the
 * repetition: the split of a request where the workload has the stamps. */
static void report_part(struct hvb_ctx *c, unsigned rep, unsigned k)
{
	char name[HVB_METRIC_MAX];
	size_t at, n = req.part_kept[k];

	if (!req.part[k] || !n)
		return;
	hvb_sort_u64(req.part[k], n);
	at = rt_text_str(name, sizeof(name), 0, c->w->req_parts[k]);
	rt_text_str(name, sizeof(name), at, ".p50");
	emit_sample(c, rep, name, "ns", HVB_LOWER_IS_BETTER,
		    cycles_to_ns(hvb_percentile_u64(req.part[k], n, 0.50)));
	rt_text_str(name, sizeof(name), at, ".p99");
	emit_sample(c, rep, name, "ns", HVB_LOWER_IS_BETTER,
		    cycles_to_ns(hvb_percentile_u64(req.part[k], n, 0.99)));
}

/* req_ns.p50/.p99/.p999/.max over every request kept in the repetition,
 * and ops_per_s unless the kind yields it already. */
static void report_requests(struct hvb_ctx *c, unsigned rep, double ops, double ns_total)
{
	static const struct {
		const char *metric;
		double q;
	} pct[] = {
		{ "req_ns.p50", 0.50 }, { "req_ns.p99", 0.99 },
		{ "req_ns.p999", 0.999 }, { "req_ns.max", 1.0 },
	};
	char buf[HVB_TEXT_MAX];
	const char *note = req_note(c, buf, sizeof(buf));

	if (c->w->kind != HVB_KIND_RATE)
		emit_sample(c, rep, "ops_per_s", "ops/s", HVB_HIGHER_IS_BETTER,
			    ops * 1e9 / ns_total);
	if (!req.kept) {
		rt_log("per_request workload timed no request (rt_req_time never called)");
		return;
	}
	hvb_sort_u64(req.v, req.kept);
	for (unsigned i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
		emit_sample_note(c, rep, pct[i].metric, "ns", HVB_LOWER_IS_BETTER,
				 cycles_to_ns(hvb_percentile_u64(req.v, req.kept, pct[i].q)),
				 note);
	for (unsigned k = 0; k < HVB_REQ_PARTS; k++)
		report_part(c, rep, k);
	if (c->w->req_count)
		emit_sample(c, rep, c->w->req_count,
			    c->w->req_count_unit ? c->w->req_count_unit : "requests",
			    HVB_LOWER_IS_BETTER,
			    (double)req.count);
}

/* lost, loss_pct and reordered of a counts_loss workload's repetition,
 * zeros included: a zero is a measurement. */
static void report_loss(struct hvb_ctx *c, unsigned rep)
{
	double all = (double)(loss.rep_lost + loss.rep_delivered);

	emit_sample(c, rep, "lost", "datagrams", HVB_LOWER_IS_BETTER, (double)loss.rep_lost);
	emit_sample(c, rep, "loss_pct", "%", HVB_LOWER_IS_BETTER,
		    all > 0 ? (double)loss.rep_lost * 100.0 / all : 0);
	emit_sample(c, rep, "reordered", "datagrams", HVB_LOWER_IS_BETTER,
		    (double)loss.rep_reordered);
}

/* done[b]: the operations batch b delivered (n, or fewer for counts_loss):
 * every per-operation figure is per delivered operation. */
static void report_rep(struct hvb_ctx *c, unsigned rep, const uint64_t *cyc, const uint64_t *done,
		       unsigned batches)
{
	double per_op[HVB_MAX_BATCHES], total = 0, ops = 0, ns_total;

	for (unsigned b = 0; b < batches; b++) {
		total += (double)cyc[b];
		ops += (double)done[b];
		per_op[b] = cycles_to_ns((double)cyc[b]) / (double)done[b];
	}
	ns_total = cycles_to_ns(total);
	hvb_sort_doubles(per_op, batches);
	switch (c->w->kind) {
	case HVB_KIND_BANDWIDTH:
		emit_sample(c, rep, "bandwidth", "MB/s", HVB_HIGHER_IS_BETTER,
			    (double)c->bytes_per_op * ops * 1e3 / ns_total);
		break;
	case HVB_KIND_RATE:
		emit_sample(c, rep, "ops_per_s", "ops/s", HVB_HIGHER_IS_BETTER,
			    ops * 1e9 / ns_total);
		break;
	case HVB_KIND_TIME_PER_OP:
		emit_sample(c, rep, "cycles_per_op", "cycles", HVB_LOWER_IS_BETTER, total / ops);
		break;
	}
	emit_sample(c, rep, "ns_per_op", "ns", HVB_LOWER_IS_BETTER, ns_total / ops);
	emit_sample(c, rep, "ns_per_op.p50", "ns", HVB_LOWER_IS_BETTER,
		    hvb_percentile(per_op, batches, 0.50));
	emit_sample(c, rep, "ns_per_op.p90", "ns", HVB_LOWER_IS_BETTER,
		    hvb_percentile(per_op, batches, 0.90));
	emit_sample(c, rep, "ns_per_op.p99", "ns", HVB_LOWER_IS_BETTER,
		    hvb_percentile(per_op, batches, 0.99));
	if (c->w->per_request)
		report_requests(c, rep, ops, ns_total);
	if (c->w->counts_loss)
		report_loss(c, rep);
}

/* ------------------------------------------------------- SMP (smp workloads) */
/*
 * With rt_cpus() > 1, an smp workload is also run on every CPU at once,
 * after its one-CPU batches of each repetition: one ctx per CPU, set up on
 * its own CPU (memory first-touched there), the one-CPU calibration's n on
 * every CPU, each batch started together: the last CPU to arrive at the
 * barrier sets a start TSC a little ahead and every CPU spins until it.
 * A batch's span is the first start to the last end (the TSC is one clock
 * for every CPU: KVM and Xen keep the vCPUs' TSCs in step, the host's are).
 */

/* Used where the environment defines no rt_cpu_* of its own (a platform
 * without SMP support): one CPU.  The native and guest runtimes override
 * them. */
__attribute__((weak)) unsigned rt_cpus(void)
{
	return 1;
}

__attribute__((weak)) unsigned rt_cpu_self(void)
{
	return 0;
}

__attribute__((weak)) int rt_cpu_start(unsigned cpu, void (*fn)(void *arg, unsigned cpu),
				       void *arg)
{
	(void)cpu, (void)fn, (void)arg;
	return -22; /* -EINVAL: there is no CPU but 0 */
}

__attribute__((weak)) void rt_cpu_wait(unsigned cpu)
{
	(void)cpu;
}

__attribute__((weak)) const char *rt_cpu_note(void)
{
	return "one CPU (this environment starts no others)";
}

/* Cycles between the barrier's last arrival and the common start: enough
 * for every spinning CPU to see the start TSC before it passes. */
#define SMP_START_AHEAD_US 20

struct smp_run {
	struct hvb_ctx ctx[HVB_MAX_VCPUS];
	bool set_up[HVB_MAX_VCPUS];
	const char *setup_why[HVB_MAX_VCPUS];
	unsigned cpus;
	uint64_t n, ahead;
	unsigned batches; /* of the repetition being run */
	unsigned arrived; /* every CPU's arrivals, cumulative over the repetition */
	bool abort;       /* a CPU would not start: the others leave the barrier */
	bool cant_start;  /* smp_begin failed because a CPU would not start (not its setup) */
	uint64_t go[HVB_MAX_BATCHES + 1]; /* start TSC of each batch, 0 = not yet */
	uint64_t t0[HVB_MAX_VCPUS][HVB_MAX_BATCHES + 1], t1[HVB_MAX_VCPUS][HVB_MAX_BATCHES + 1];
};

static void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Batch b's barrier: wait for every CPU, then until the common start TSC;
 * false if the run was aborted meanwhile. */
static bool smp_barrier(struct smp_run *s, unsigned b)
{
	unsigned want = s->cpus * (b + 1);
	uint64_t go;

	if (__atomic_add_fetch(&s->arrived, 1, __ATOMIC_ACQ_REL) == want)
		__atomic_store_n(&s->go[b], rt_tsc_begin() + s->ahead, __ATOMIC_RELEASE);
	while (!(go = __atomic_load_n(&s->go[b], __ATOMIC_ACQUIRE)))
		if (__atomic_load_n(&s->abort, __ATOMIC_ACQUIRE))
			return false;
		else
			cpu_relax();
	while (rt_tsc_begin() < go)
		cpu_relax();
	return true;
}

/* One CPU's share of a repetition: its batches, each after the barrier. */
static void smp_batches(void *arg, unsigned cpu)
{
	struct smp_run *s = arg;
	struct hvb_ctx *c = &s->ctx[cpu];

	for (unsigned b = 0; b < s->batches; b++) {
		if (!smp_barrier(s, b))
			return;
		if (c->w->before_batch)
			c->w->before_batch(c, s->n);
		s->t0[cpu][b] = rt_tsc_begin();
		c->w->run(c, s->n);
		s->t1[cpu][b] = rt_tsc_end();
		if (c->w->after_batch)
			c->w->after_batch(c, s->n);
	}
}

static void smp_setup_one(void *arg, unsigned cpu)
{
	struct smp_run *s = arg;
	struct hvb_ctx *c = &s->ctx[cpu];
	const char *why = "";

	s->set_up[cpu] = !c->w->setup || c->w->setup(c, &why) >= 0;
	s->setup_why[cpu] = why && *why ? why : "setup failed";
}

static void smp_teardown_one(void *arg, unsigned cpu)
{
	struct smp_run *s = arg;

	if (s->set_up[cpu] && s->ctx[cpu].w->teardown)
		s->ctx[cpu].w->teardown(&s->ctx[cpu]);
	s->set_up[cpu] = false;
}

/* fn on CPU cpu (CPU 0: here), and wait for it; false if it cannot start. */
static bool on_cpu(unsigned cpu, void (*fn)(void *, unsigned), void *arg)
{
	if (!cpu) {
		fn(arg, 0);
		return true;
	}
	if (rt_cpu_start(cpu, fn, arg) < 0)
		return false;
	rt_cpu_wait(cpu);
	return true;
}

static void smp_why(char *buf, size_t len, unsigned cpu, const char *what)
{
	size_t at = rt_text_str(buf, len, 0, "smp: CPU ");
	at = rt_text_dec(buf, len, at, cpu);
	at = rt_text_str(buf, len, at, ": ");
	rt_text_str(buf, len, at, what);
}

/* Contexts for CPUs 1..N-1 like c (CPU 0's, already set up), each set up
 * on its own CPU, one after the other (a workload's setup may write shared
 * tables).  false with buf saying why. */
static bool smp_begin(struct smp_run *s, const struct hvb_ctx *c, char *buf, size_t len)
{
	s->ctx[0] = *c;
	for (unsigned i = 1; i < s->cpus; i++) {
		s->ctx[i] = *c;
		s->ctx[i].priv = 0;
		s->ctx[i].bytes_per_op = c->w->bytes_per_op;
		s->ctx[i].cpu = i;
		if (!on_cpu(i, smp_setup_one, s)) {
			smp_why(buf, len, i, "would not start (rt_cpu_start)");
			s->cant_start = true;
			return false;
		}
		if (!s->set_up[i]) {
			smp_why(buf, len, i, s->setup_why[i]);
			return false;
		}
	}
	return true;
}

static void smp_end(struct smp_run *s)
{
	for (unsigned i = 1; i < s->cpus; i++)
		(void)on_cpu(i, smp_teardown_one, s);
}

/* Every CPU's batches of one repetition (or the warm-up): CPUs 1..N-1
 * started, CPU 0 joins, then all are waited for.  false if one would not
 * start: those already started leave the barrier (abort) and are waited
 * for, so no CPU is left running. */
static bool smp_rep(struct smp_run *s, unsigned batches)
{
	unsigned started = 1;

	s->batches = batches;
	s->arrived = 0;
	s->abort = false;
	for (unsigned b = 0; b <= HVB_MAX_BATCHES; b++)
		s->go[b] = 0;
	for (; started < s->cpus; started++)
		if (rt_cpu_start(started, smp_batches, s) < 0)
			break;
	if (started < s->cpus) {
		__atomic_store_n(&s->abort, true, __ATOMIC_RELEASE);
		for (unsigned i = 1; i < started; i++)
			rt_cpu_wait(i);
		return false;
	}
	smp_batches(s, 0);
	for (unsigned i = 1; i < s->cpus; i++)
		rt_cpu_wait(i);
	return true;
}

/* "<primary>.smp<N><suffix>" (suffix "" / ".per_cpu" / ".cpu<i>"). */
static const char *smp_metric(char *buf, size_t len, const struct smp_run *s, const char *suffix,
			      int cpu)
{
	size_t at = rt_text_str(buf, len, 0, hvb_kind_primary(s->ctx[0].w->kind));

	at = rt_text_str(buf, len, at, ".smp");
	at = rt_text_dec(buf, len, at, s->cpus);
	at = rt_text_str(buf, len, at, suffix);
	if (cpu >= 0)
		rt_text_dec(buf, len, at, (uint64_t)cpu);
	return buf;
}

/* The note of the smp rows: how the CPUs run, then the cell's own note. */
static const char *smp_note(const struct smp_run *s, char *buf, size_t len)
{
	size_t at = rt_text_str(buf, len, 0, rt_cpu_note());

	if (s->ctx[0].note && *s->ctx[0].note) {
		at = rt_text_str(buf, len, at, "; ");
		rt_text_str(buf, len, at, s->ctx[0].note);
	}
	return buf;
}

/* What one CPU's ops amount to in `cycles`: MB/s or ops/s (higher is
 * better), or ns per op of one CPU (the kind's primary metric). */
static double smp_value(const struct hvb_ctx *c, enum hvb_kind kind, double ops, double cycles)
{
	double ns = cycles_to_ns(cycles);

	if (kind == HVB_KIND_BANDWIDTH)
		return (double)c->bytes_per_op * ops * 1e3 / ns;
	if (kind == HVB_KIND_RATE)
		return ops * 1e9 / ns;
	return ns / ops;
}

/* The unit of the kind's primary metric, which the smp rows carry. */
static const char *smp_unit(enum hvb_kind kind)
{
	return kind == HVB_KIND_BANDWIDTH ? "MB/s" : kind == HVB_KIND_RATE ? "ops/s" : "ns";
}

/* The smp phase could not be set up (e.g. no memory for N copies of the
 * working set): the one-CPU rows stand, and each repetition says why it has
 * no <primary>.smpN (status skipped) instead of failing the cell. */
static void smp_report_skipped(const struct hvb_ctx *c, unsigned rep, unsigned cpus,
			       const char *why)
{
	struct hvb_record r;
	size_t at;

	record_init(&r, HVB_REC_SAMPLE, c->w->name, rep);
	r.better = c->w->kind == HVB_KIND_TIME_PER_OP ? HVB_LOWER_IS_BETTER : HVB_HIGHER_IS_BETTER;
	r.status = HVB_ST_SKIPPED;
	at = rt_text_str(r.metric, sizeof(r.metric), 0, hvb_kind_primary(c->w->kind));
	at = rt_text_str(r.metric, sizeof(r.metric), at, ".smp");
	rt_text_dec(r.metric, sizeof(r.metric), at, cpus);
	str_copy(r.unit, smp_unit(c->w->kind), sizeof(r.unit));
	str_copy(r.text, why, sizeof(r.text));
	rt_emit(&r);
}

/*
 * One repetition's smp rows.  span: the sum over batches of first start to
 * last end.  Higher-is-better kinds: .smp<N> sums every CPU's work over the
 * span (the machine's throughput), .per_cpu is that / N, .cpu<i> is CPU i
 * over its own batch times (>= its share of the span: the difference is
 * how unevenly the CPUs ran).  Time per op: .smp<N> is the span per op of
 * one CPU, .per_cpu the mean over CPUs of their own, .cpu<i> CPU i's own.
 */
static void smp_report(struct smp_run *s, unsigned rep)
{
	const struct hvb_ctx *c0 = &s->ctx[0];
	enum hvb_kind kind = c0->w->kind;
	int better = kind == HVB_KIND_TIME_PER_OP ? HVB_LOWER_IS_BETTER : HVB_HIGHER_IS_BETTER;
	const char *unit = smp_unit(kind);
	double span = 0, own[HVB_MAX_VCPUS] = { 0 }, ops = (double)s->n * s->batches;
	double agg = 0, mean = 0;
	char name[HVB_METRIC_MAX], note[HVB_TEXT_MAX];

	for (unsigned b = 0; b < s->batches; b++) {
		uint64_t first = s->t0[0][b], last = s->t1[0][b];

		for (unsigned i = 0; i < s->cpus; i++) {
			first = s->t0[i][b] < first ? s->t0[i][b] : first;
			last = s->t1[i][b] > last ? s->t1[i][b] : last;
			own[i] += (double)(s->t1[i][b] - s->t0[i][b]);
		}
		span += (double)(last - first);
	}
	for (unsigned i = 0; i < s->cpus; i++) {
		agg += smp_value(&s->ctx[i], kind, ops, span);
		mean += smp_value(&s->ctx[i], kind, ops, own[i]) / s->cpus;
	}
	if (kind == HVB_KIND_TIME_PER_OP)
		agg = cycles_to_ns(span) / ops;
	smp_note(s, note, sizeof(note));
	emit_sample_note(c0, rep, smp_metric(name, sizeof(name), s, "", -1), unit, better, agg,
			 note);
	emit_sample_note(c0, rep, smp_metric(name, sizeof(name), s, ".per_cpu", -1), unit,
			 better, kind == HVB_KIND_TIME_PER_OP ? mean : agg / s->cpus, note);
	for (unsigned i = 0; i < s->cpus; i++)
		emit_sample_note(c0, rep, smp_metric(name, sizeof(name), s, ".cpu", (int)i), unit,
				 better, smp_value(&s->ctx[i], kind, ops, own[i]), note);
}

/* Is workload c (CPU 0's ctx) also run on every CPU at once? */
static bool smp_wanted(const struct hvb_ctx *c)
{
	/* Request times and loss are counted for one CPU (req, loss): such
	 * workloads are not smp. */
	return c->w->smp && !c->w->per_request && !c->w->counts_loss && rt_cpus() > 1;
}

static void measure(struct hvb_ctx *c, const struct plan *p, struct smp_run *smp)
{
	static char why[HVB_TEXT_MAX]; /* rt_fail keeps the pointer */
	uint64_t cyc[HVB_MAX_BATCHES], done[HVB_MAX_BATCHES], n = calibrate(c, p);
	const char *smp_skip = 0;
	unsigned smp_cpus = 0;

	if (!n) {
		emit_status(c->w->name, HVB_ST_FAILED, fail_why);
		return;
	}
	emit_u64(HVB_REC_CELL_BEGIN, c->w->name, p->rep, n, p->batches);
	(void)time_batch(c, n, false, 0); /* warm-up at the calibrated size */
	if (smp) {
		smp->n = n;
		smp->ahead = tsc_khz * SMP_START_AHEAD_US / 1000;
		if (!smp_begin(smp, c, why, sizeof(why))) {
			if (smp->cant_start) {
				rt_fail(c, why);
			} else { /* a CPU's setup failed: the one-CPU rows stand */
				smp_end(smp);
				smp_skip = why;
				smp_cpus = smp->cpus;
				smp = 0;
			}
		} else if (!smp_rep(smp, 1)) { /* warm-up */
			rt_fail(c, "smp: a CPU would not start (rt_cpu_start)");
		}
	}
	for (unsigned r = p->rep; r < p->rep + p->reps && !fail_why; r++) {
		req.kept = 0;
		req.dropped = 0;
		req.part_kept[0] = req.part_kept[1] = 0;
		req.count = 0;
		loss.rep_lost = loss.rep_reordered = loss.rep_delivered = 0;
		emit(HVB_REC_REP_BEGIN, c->w->name, r);
		for (unsigned b = 0; b < p->batches && !fail_why; b++)
			cyc[b] = time_batch(c, n, true, &done[b]);
		emit(HVB_REC_REP_END, c->w->name, r);
		if (!fail_why)
			report_rep(c, r, cyc, done, p->batches);
		/* After the repetition's probes (REP_END): they bracket one CPU. */
		if (smp && !fail_why && !smp_rep(smp, p->batches))
			rt_fail(c, "smp: a CPU would not start (rt_cpu_start)");
		if (smp && !fail_why)
			smp_report(smp, r);
		if (smp_skip && !fail_why)
			smp_report_skipped(c, r, smp_cpus, smp_skip);
	}
	if (smp)
		smp_end(smp);
	if (fail_why) /* no samples of the repetition it happened in */
		emit_status(c->w->name, HVB_ST_FAILED, fail_why);
}

/* The per-request buffer of a per_request workload's cell; false when
 * there is no memory for it (the cell fails: its latencies are the point). */
static bool req_begin(const struct hvb_workload *w)
{
	req.kept = 0;
	req.dropped = 0;
	req.on = false;
	if (!w->per_request)
		return true;
	req.v = rt_alloc(HVB_REQ_MAX * sizeof(*req.v), 4096);
	for (unsigned k = 0; k < HVB_REQ_PARTS; k++) {
		req.part_kept[k] = 0;
		if (w->req_parts[k])
			req.part[k] = rt_alloc(HVB_REQ_MAX * sizeof(*req.v), 4096);
		if (w->req_parts[k] && !req.part[k])
			return false;
	}
	return req.v != 0;
}

static void req_end(void)
{
	for (unsigned k = HVB_REQ_PARTS; k-- > 0;) { /* the guest's allocator is LIFO */
		rt_free(req.part[k], HVB_REQ_MAX * sizeof(*req.v));
		req.part[k] = 0;
	}
	rt_free(req.v, HVB_REQ_MAX * sizeof(*req.v));
	req.v = 0;
}

/* The smp run state, in static memory: a ctx and two TSC stamps per CPU
 * and batch are too much for a guest CPU's stack. */
static struct smp_run *smp_run_init(struct smp_run *s)
{
	rt_memset(s, 0, sizeof(*s));
	s->cpus = rt_cpus() < HVB_MAX_VCPUS ? rt_cpus() : HVB_MAX_VCPUS;
	return s;
}

/* The workload's short name: what follows its family ("open-loop"). */
static const char *short_name(const char *name)
{
	const char *s = name;

	for (const char *p = name; *p; p++)
		if (*p == '/')
			s = p + 1;
	return s;
}

/* "param.<short>.<name>" of parameter k of c's workload into buf. */
static const char *param_key(const struct hvb_ctx *c, unsigned k, char *buf, size_t len)
{
	size_t at = rt_text_str(buf, len, 0, "param.");

	at = rt_text_str(buf, len, at, short_name(c->w->name));
	at = rt_text_str(buf, len, at, ".");
	rt_text_str(buf, len, at, c->w->params[k].name);
	return buf;
}

/* A parameter word the host should never have sent: why, with the range. */
static const char *param_why(const struct hvb_ctx *c, unsigned k, const char *key,
			     const char *val)
{
	static char why[HVB_TEXT_MAX];
	size_t at = rt_text_str(why, sizeof(why), 0, key);

	at = rt_text_str(why, sizeof(why), at, "=");
	at = rt_text_str(why, sizeof(why), at, val);
	at = rt_text_str(why, sizeof(why), at, ": not a whole number from ");
	at = rt_text_dec(why, sizeof(why), at, c->w->params[k].min);
	at = rt_text_str(why, sizeof(why), at, " to ");
	rt_text_dec(why, sizeof(why), at, c->w->params[k].max);
	return why;
}

/* c->param[] from the param.* words of the command line, defaults where
 * absent; false with *why for a malformed or out-of-range word. */
static bool resolve_params(struct hvb_ctx *c, const char **why)
{
	char key[HVB_NAME_MAX + HVB_PARAM_NAME_MAX + 8], val[32];

	for (unsigned k = 0; k < HVB_PARAMS_MAX && c->w->params[k].name; k++) {
		const struct hvb_param *p = &c->w->params[k];
		uint64_t v = p->def;

		param_key(c, k, key, sizeof(key));
		if (hvb_cmdline_get(harness_cmdline, key, val, sizeof(val)) &&
		    (!hvb_parse_u64(val, &v) || v < p->min || v > p->max)) {
			*why = param_why(c, k, key, val);
			return false;
		}
		c->param[k] = v;
	}
	return true;
}

static void run_one(const char *name, const struct plan *p, bool native)
{
	static struct smp_run smp;
	const struct hvb_workload *w = hvb_workload_find(name);
	struct hvb_ctx c;
	const char *why = "";

	if (!w) {
		emit_status(name, HVB_ST_FAILED, "no such workload in this build");
		return;
	}
	if (cpus_why) { /* measured on fewer CPUs, a cell would be mislabelled */
		emit_status(name, HVB_ST_SKIPPED, cpus_why);
		return;
	}
	rt_memset(&c, 0, sizeof(c));
	c.w = w;
	c.bytes_per_op = w->bytes_per_op;
	c.note = w->note;
	c.quick = p->quick;
	c.caps = caps;
	c.native = native;
	c.fixed_ops = w->fixed_ops;
	fail_why = 0;
	if (!resolve_params(&c, &why)) {
		emit_status(name, HVB_ST_FAILED, why);
		return;
	}
	if (w->valid && !w->valid(&c, &why)) {
		emit_status(name, HVB_ST_SKIPPED, why);
		return;
	}
	if (w->setup && w->setup(&c, &why) < 0) {
		emit_status(name, HVB_ST_FAILED, why && *why ? why : "setup failed");
		return;
	}
	if (req_begin(w))
		measure(&c, p, smp_wanted(&c) ? smp_run_init(&smp) : 0);
	else
		emit_status(name, HVB_ST_FAILED, "no memory for the per-request latencies");
	req_end();
	if (w->teardown)
		w->teardown(&c);
}

/* Iterate the comma-separated names of w=...; calls run_one for each. */
static void run_list(const char *list, const struct plan *p, bool native)
{
	char name[HVB_NAME_MAX + 1];
	size_t i = 0;

	for (const char *s = list;; s++) {
		if (*s == ',' || *s == '\0') {
			name[i < sizeof(name) ? i : sizeof(name) - 1] = '\0';
			if (i >= sizeof(name))
				emit_status(name, HVB_ST_FAILED, "workload name too long");
			else if (i)
				run_one(name, p, native);
			i = 0;
			if (!*s)
				break;
			continue;
		}
		if (i < sizeof(name))
			name[i] = *s;
		i++;
	}
}

/* NULL, or why the CPUs that run are not the vcpus= asked for (every
 * cell is then skipped with it: not silently measured on fewer). */
static const char *check_cpus(const char *cmdline)
{
	static char why[HVB_TEXT_MAX];
	bool ok = true;
	uint64_t want = cmdline_u64(cmdline, "vcpus", 1, &ok);
	size_t at;

	if (ok && want == rt_cpus())
		return 0;
	at = rt_text_str(why, sizeof(why), 0, "vcpus=");
	if (ok)
		at = rt_text_dec(why, sizeof(why), at, want);
	else
		at = rt_text_str(why, sizeof(why), at, "(not a number)");
	at = rt_text_str(why, sizeof(why), at, " asked, this environment runs ");
	at = rt_text_dec(why, sizeof(why), at, rt_cpus());
	at = rt_text_str(why, sizeof(why), at, " CPU(s): ");
	rt_text_str(why, sizeof(why), at, rt_cpu_note());
	return why;
}

int hvb_harness_main(const char *cmdline, uint64_t entry_tsc)
{
	static char list[HVB_CMDLINE_MAX];
	char env[16] = "";
	struct plan p;
	bool ok = true;
	uint64_t goal_us;

	harness_cmdline = cmdline;
	tsc_khz = cmdline_u64(cmdline, "tsc_khz", 0, &ok);
	caps = (uint32_t)cmdline_u64(cmdline, "caps", 0, &ok);
	p.rep = (unsigned)cmdline_u64(cmdline, "rep", 0, &ok);
	p.reps = (unsigned)cmdline_u64(cmdline, "reps", 1, &ok);
	p.quick = cmdline_u64(cmdline, "quick", 0, &ok) != 0;
	p.batches = (unsigned)cmdline_u64(cmdline, "batches", HVB_DEFAULT_BATCHES, &ok);
	goal_us = cmdline_u64(cmdline, "goal_us", HVB_DEFAULT_GOAL_US, &ok);
	hvb_cmdline_get(cmdline, "env", env, sizeof(env));
	emit_u64(HVB_REC_HELLO, "", 0, entry_tsc, rt_tsc_begin());
	if (!ok || !tsc_khz || !p.reps || !p.batches || p.batches > HVB_MAX_BATCHES ||
	    !hvb_cmdline_get(cmdline, "w", list, sizeof(list))) {
		rt_log("bad command line: need w=, tsc_khz=; numbers must be valid, "
		       "1 <= batches <= 64");
		return HVB_EXIT_BADCMD;
	}
	p.goal_cycles = goal_us * tsc_khz / 1000;
	cpus_why = check_cpus(cmdline);
	run_list(list, &p, str_eq(env, "native"));
	emit(HVB_REC_DONE, "", 0);
	return HVB_EXIT_OK;
}
