/*
 * Measurement harness (see harness.h).  Method, as kvm-unit-tests vmexit.c:
 * calibrate the operation count n so one batch takes about the time goal,
 * warm up with one more batch, then per repetition time `batches` batches
 * with serialized TSC reads.  The repetition's value is total time / total
 * operations; the spread within it is given as percentiles of the batches.
 * Workloads with per_request (io/) also time every request themselves
 * (rt_req_time): the harness keeps those of the measured batches and gives
 * their percentiles per repetition.  Workloads with counts_loss (net/)
 * say per batch how many operations did not happen (rt_lost) and how many
 * arrived out of order (rt_reordered): the kind's metrics are then per
 * delivered operation, and lost / loss_pct / reordered are emitted per
 * repetition.
 */
#include "harness.h"

extern const struct hvb_workload *const __start_hvb_workloads[];
extern const struct hvb_workload *const __stop_hvb_workloads[];

static uint64_t tsc_khz;
static uint32_t caps;
static const char *harness_cmdline = "";
static const char *fail_why; /* rt_fail of the cell being measured */

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
		{ HVB_CAP_NET, "needs the run's network link and responder, which this runner did not attach" },
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

/* The operation count per batch; 0 if the workload failed (rt_fail). */
static uint64_t calibrate(struct hvb_ctx *c, uint64_t goal)
{
	const struct hvb_workload *w = c->w;
	uint64_t n = 1, took;

	if (w->fixed_ops)
		return w->fixed_ops;
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
		took = time_batch(c, n, false, 0);
		if (fail_why)
			return 0;
		if (took >= goal || (w->max_ops && n >= w->max_ops) || n >= (1ull << 40))
			return n;
		n = hvb_calibrate_next(n, took, goal);
	}
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

static void measure(struct hvb_ctx *c, const struct plan *p)
{
	uint64_t cyc[HVB_MAX_BATCHES], done[HVB_MAX_BATCHES], n = calibrate(c, p->goal_cycles);

	if (!n) {
		emit_status(c->w->name, HVB_ST_FAILED, fail_why);
		return;
	}
	emit_u64(HVB_REC_CELL_BEGIN, c->w->name, p->rep, n, p->batches);
	(void)time_batch(c, n, false, 0); /* warm-up at the calibrated size */
	for (unsigned r = p->rep; r < p->rep + p->reps && !fail_why; r++) {
		req.kept = 0;
		req.dropped = 0;
		loss.rep_lost = loss.rep_reordered = loss.rep_delivered = 0;
		emit(HVB_REC_REP_BEGIN, c->w->name, r);
		for (unsigned b = 0; b < p->batches && !fail_why; b++)
			cyc[b] = time_batch(c, n, true, &done[b]);
		emit(HVB_REC_REP_END, c->w->name, r);
		if (!fail_why)
			report_rep(c, r, cyc, done, p->batches);
	}
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
	return req.v != 0;
}

static void req_end(void)
{
	rt_free(req.v, HVB_REQ_MAX * sizeof(*req.v));
	req.v = 0;
}

static void run_one(const char *name, const struct plan *p, bool native)
{
	const struct hvb_workload *w = hvb_workload_find(name);
	struct hvb_ctx c;
	const char *why = "";

	if (!w) {
		emit_status(name, HVB_ST_FAILED, "no such workload in this build");
		return;
	}
	rt_memset(&c, 0, sizeof(c));
	c.w = w;
	c.bytes_per_op = w->bytes_per_op;
	c.note = w->note;
	c.quick = p->quick;
	c.caps = caps;
	c.native = native;
	fail_why = 0;
	if (w->valid && !w->valid(&c, &why)) {
		emit_status(name, HVB_ST_SKIPPED, why);
		return;
	}
	if (w->setup && w->setup(&c, &why) < 0) {
		emit_status(name, HVB_ST_FAILED, why && *why ? why : "setup failed");
		return;
	}
	if (req_begin(w))
		measure(&c, p);
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
	run_list(list, &p, str_eq(env, "native"));
	emit(HVB_REC_DONE, "", 0);
	return HVB_EXIT_OK;
}
