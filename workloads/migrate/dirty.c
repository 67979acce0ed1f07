/*
 * migrate/dirty: the guest side of a live migration (hvbench migrate).
 *
 * It dirties memory at a set rate (dirty.rate MiB/s) over a working set
 * (dirty.wss_mib) in a pattern (dirty.pattern: 0 sequential, 1 random,
 * 2 hot/cold: 90% of the writes to the first 10% of the pages), one whole
 * page per operation, paced by the TSC.  What it measures itself, so that
 * a migration is seen by the guest and not only reported by the VMM:
 *   bandwidth      the dirty rate it achieved (MB/s over each batch): a
 *                  guest slowed by dirty tracking falls below dirty.rate
 *   req_ns.*       the gaps between consecutive heartbeats (one ~every
 *                  1 ms, TSC stamp + sequence written to a heartbeat page
 *                  the host can read, its address in the log): req_ns.max
 *                  is the guest-observed downtime of a repetition
 *   lost_pages     pages whose content was wrong at the check (0: none);
 *                  dirty.batch_ms sets how much of the schedule a batch
 *                  covers (100 ms): a host slow to migrate (Xen under
 *                  emulation) needs a repetition longer than 64 x 100 ms
 *                  dirty.lose_page=N spoils page N-1 once (in the way
 *                  dirty.lose_how says), the check's own test
 * Every page's content is a function of (page, generation), its
 * generation kept beside it; after every batch (untimed) the whole working
 * set is checked, and a page that does not hold what was last written
 * fails the cell, naming the first bad page and what it holds instead
 * (loss_kind): an older generation is a write the migration dropped, a
 * page whose 32-byte stores kept only their low 16 bytes is the vCPU's
 * vector state gone wrong, not the copy of memory.
 *
 * How a page is written (dirty.store): 8-byte stores by default, so that
 * its content depends on memory only.  Under qemu-kvm on our nested PVM
 * host, 32-byte AVX stores (what the compiler makes of the loop with
 * x86-64-v3) came out with their top 16 bytes zero now and then after a
 * QEMU migration (issue 18, README "Migration": known issues);
 * dirty.store=32 keeps that path to measure it.
 *
 * With --vcpus N every vCPU writes (rt_cpu_start): vCPU k its own slice of
 * the working set (contiguous pages), at dirty.rate / N, so every vCPU's
 * state and the memory it dirtied must survive the move.  Each AP keeps
 * its own heartbeat gaps, its longest of a batch a req_ns sample beside
 * vCPU 0's; the check covers every slice and a lost page names the vCPU
 * whose slice it is in.  One vCPU: one slice, as before.
 *
 * The TSC after a migration: on one host the reference core keeps it
 * continuous (hv/vcpu_state.h), so a gap is time the guest did not run.
 * Natively (the twin) the same code measures scheduling gaps.
 */
#include "workload.h"

#define HEARTBEAT_US 1000 /* heartbeat period */
#define PAGE	     4096u
#define QWORDS	     (PAGE / 8)
#define VEC_QWORDS   4	  /* qwords per 32-byte store */

typedef uint64_t vec4 __attribute__((vector_size(32)));

enum pattern { PAT_SEQ = 0, PAT_RANDOM = 1, PAT_HOTCOLD = 2 };

/* What a bad page holds instead (loss_kind), and dirty.lose_how's spoils. */
enum loss {
	LOSS_OTHER = 0, /* none of the below (lose_how 0: one bit flipped) */
	LOSS_OLDER = 1, /* an older generation, whole: a write that was not carried */
	LOSS_TORN = 2,	/* part the last generation, the rest the one before */
	LOSS_ZERO = 3,	/* zeros: never copied */
	LOSS_HALF = 4,	/* the last generation, but the top 16 bytes of 32-byte stores zero */
	LOSS_KINDS
};

/* The page the host can read: where the guest was, and when. */
struct heartbeat {
	uint64_t tsc;	/* the latest heartbeat's TSC */
	uint64_t seq;	/* heartbeats so far */
	uint64_t magic; /* HEARTBEAT_MAGIC: the host finds the page by it */
};
#define HEARTBEAT_MAGIC 0x4856424842454154ull /* "HVBHBEAT" */

/* One vCPU's writer: its pages [first, first + npages) of the set. */
struct slice {
	uint64_t first, npages, cursor, rng;
	uint64_t n;		/* pages to write this batch */
	uint64_t hb_tsc, gap;	/* its last beat, its longest gap this batch (APs) */
};

static struct {
	uint64_t *pages;	/* wss bytes */
	uint32_t *gen;		/* per page: generation last written */
	uint64_t *stamp;	/* per page: TSC of its last write (the verdict's when) */
	struct heartbeat *hb;	/* one page */
	uint64_t npages, wss;
	uint64_t ticks_per_page, hb_ticks; /* ticks_per_page: per writer (rate / cpus) */
	unsigned cpus;		/* writers: one per vCPU */
	struct slice sl[HVB_MAX_VCPUS];
	uint64_t t0;		/* the batch's start, shared by the writers */
	enum pattern pat;
	uint64_t lose_page;	/* dirty.lose_page: 1 + the page to spoil once (0: none) */
	enum loss lose_how;	/* dirty.lose_how: how */
	uint64_t store;		/* dirty.store: bytes per store, 8 or 32 */
	uint64_t gap_max, gap_end; /* the longest heartbeat gap so far, and its end's TSC */
	uint64_t lost;		/* pages found wrong (cumulative) */
	char why[HVB_TEXT_MAX];
	char note[HVB_TEXT_MAX];
} d;

/* The content of qword i of page p at generation g: distinct for every
 * (p, g, i) within any working set, cheap to compute. */
static inline uint64_t pattern_word(uint64_t p, uint32_t g, uint64_t i)
{
	uint64_t x = (p << 32 | g) * 0x9e3779b97f4a7c15ull;

	return x ^ (i * 0xbf58476d1ce4e5b9ull);
}

static uint64_t next_page(struct slice *s)
{
	uint64_t hot = s->npages / 10 ? s->npages / 10 : 1;

	switch (d.pat) {
	case PAT_RANDOM:
		return s->first + rt_rand(&s->rng) % s->npages;
	case PAT_HOTCOLD:
		if (rt_rand(&s->rng) % 10)
			return s->first + rt_rand(&s->rng) % hot;
		return s->first + hot + rt_rand(&s->rng) % (s->npages - hot ? s->npages - hot : 1);
	case PAT_SEQ:
		break;
	}
	return s->first + s->cursor++ % s->npages;
}

/* The vCPU whose slice page p is in. */
static unsigned slice_of(uint64_t p)
{
	unsigned k = 0;

	while (k + 1 < d.cpus && p >= d.sl[k + 1].first)
		k++;
	return k;
}

/* Split the working set and its rate between the vCPUs (slice 0 takes
 * the remainder); slice 0's random stream is the one-vCPU run's. */
static void slices_setup(uint64_t rate_pages)
{
	uint64_t per = d.npages / d.cpus;

	for (unsigned k = 0; k < d.cpus; k++) {
		struct slice *s = &d.sl[k];

		s->npages = k ? per : d.npages - per * (d.cpus - 1);
		s->first = k ? d.npages - per * (d.cpus - k) : 0;
		s->cursor = 0;
		s->rng = 0x2545f4914f6cdd1dull ^ (uint64_t)k * 0x9e3779b97f4a7c15ull;
	}
	d.ticks_per_page = rt_tsc_khz() * 1000 / (rate_pages / d.cpus ?: 1) ?: 1;
}

/* One 8-byte store per qword: volatile, so that the compiler does not
 * make vector stores of the loop. */
static void page_store8(uint64_t p, uint32_t g)
{
	volatile uint64_t *w = d.pages + p * QWORDS;

	for (uint64_t i = 0; i < QWORDS; i++)
		w[i] = pattern_word(p, g, i);
}

/* One 32-byte store per 4 qwords (AVX with x86-64-v3). */
static void page_store32(uint64_t p, uint32_t g)
{
	vec4 *w = (vec4 *)(d.pages + p * QWORDS);

	for (uint64_t i = 0; i < QWORDS; i += VEC_QWORDS)
		w[i / VEC_QWORDS] = (vec4){pattern_word(p, g, i), pattern_word(p, g, i + 1),
					   pattern_word(p, g, i + 2), pattern_word(p, g, i + 3)};
}

static void page_write(uint64_t p, uint64_t now)
{
	uint32_t g = ++d.gen[p];

	d.stamp[p] = now;
	if (d.store == 32)
		page_store32(p, g);
	else
		page_store8(p, g);
}

/* The first page not as last written, or npages; counts the bad ones. */
static uint64_t check_all(void)
{
	uint64_t first = d.npages;

	for (uint64_t p = 0; p < d.npages; p++) {
		const uint64_t *w = d.pages + p * QWORDS;
		for (uint64_t i = 0; i < QWORDS; i++)
			if (w[i] != pattern_word(p, d.gen[p], i)) {
				if (first == d.npages)
					first = p;
				d.lost++;
				break;
			}
	}
	return first;
}

/* How many qwords of page p, from qword `from`, every `step`, `run` at a
 * time, hold generation g (or zero, with g = 0). */
static uint64_t words_at(uint64_t p, uint32_t g, bool zero, unsigned from, unsigned run)
{
	const uint64_t *w = d.pages + p * QWORDS;
	uint64_t n = 0;

	for (uint64_t i = 0; i < QWORDS; i += VEC_QWORDS)
		for (unsigned k = from; k < from + run; k++)
			n += w[i + k] == (zero ? 0 : pattern_word(p, g, i + k));
	return n;
}

/* What bad page p holds instead; *older = the generation it holds whole
 * (LOSS_OLDER). */
static enum loss loss_kind(uint64_t p, uint32_t *older)
{
	uint32_t g = d.gen[p], h = g;
	uint64_t last = words_at(p, g, false, 0, VEC_QWORDS);
	uint64_t half_zero = words_at(p, 0, true, 2, 2);

	if (words_at(p, 0, true, 0, VEC_QWORDS) == QWORDS)
		return LOSS_ZERO;
	/* Seen here: the first 32-byte store after the move (or all of
	 * them, when the YMM registers themselves lost their top halves). */
	if (words_at(p, g, false, 0, 2) == QWORDS / 2 && half_zero &&
	    words_at(p, g, false, 2, 2) + half_zero == QWORDS / 2)
		return LOSS_HALF;
	while (--h >= 1)
		if (words_at(p, h, false, 0, VEC_QWORDS) == QWORDS) {
			*older = h;
			return LOSS_OLDER;
		}
	if (g > 1 && last && last + words_at(p, g - 1, false, 0, VEC_QWORDS) == QWORDS)
		return LOSS_TORN;
	return LOSS_OTHER;
}

/* The verdict's words for each kind: short (the failed row) and why (the log). */
static const char *const loss_short[LOSS_KINDS] = {
	[LOSS_OTHER] = "holds none of its generations",
	[LOSS_OLDER] = "holds an older generation",
	[LOSS_TORN] = "is torn between two generations",
	[LOSS_ZERO] = "is zeros",
	[LOSS_HALF] = "has 32-byte stores with their top half zero",
};
static const char *const loss_why[LOSS_KINDS] = {
	[LOSS_OTHER] = "neither a generation, torn, zeros nor half-stored: damage",
	[LOSS_OLDER] = "a write the migration did not carry (a dirty page missed)",
	[LOSS_TORN] = "a write cut by a copy and not sent again",
	[LOSS_ZERO] = "never copied to where the guest runs",
	[LOSS_HALF] = "a 32-byte store lost its top 16 bytes: vCPU state, not the copy",
};

/* The log lines of a lost page: what it holds, and when it was last
 * written against the longest stop the guest saw (a migration's
 * downtime), in microseconds. */
static void loss_log(uint64_t p, enum loss k, uint32_t older)
{
	char t[HVB_TEXT_MAX];
	uint64_t khz = rt_tsc_khz() ?: 1, s = d.stamp[p];
	bool before = s <= d.gap_end;
	size_t at;

	at = rt_text_str(t, sizeof(t), 0, "lost page ");
	at = rt_text_dec(t, sizeof(t), at, p);
	at = rt_text_str(t, sizeof(t), at, ", generation ");
	at = rt_text_dec(t, sizeof(t), at, d.gen[p]);
	if (k == LOSS_OLDER) {
		at = rt_text_str(t, sizeof(t), at, ", holds ");
		at = rt_text_dec(t, sizeof(t), at, older);
	}
	at = rt_text_str(t, sizeof(t), at, ": ");
	rt_text_str(t, sizeof(t), at, loss_why[k]);
	rt_log(t);
	at = rt_text_str(t, sizeof(t), 0, "lost page's last write: ");
	at = rt_text_dec(t, sizeof(t), at, (before ? d.gap_end - s : s - d.gap_end) * 1000 / khz);
	at = rt_text_str(t, sizeof(t), at, before ? " us before" : " us after");
	at = rt_text_str(t, sizeof(t), at, " the longest stop ended (a ");
	at = rt_text_dec(t, sizeof(t), at, d.gap_max * 1000 / khz);
	rt_text_str(t, sizeof(t), at, " us gap)");
	rt_log(t);
}

/* dirty.lose_page's spoil of page p, as lose_how says: what a migration
 * that lost it in that way would leave. */
static void page_spoil(uint64_t p, enum loss how)
{
	uint64_t *w = d.pages + p * QWORDS;

	switch (how) {
	case LOSS_OLDER:
		d.gen[p]++; /* a write that did not land */
		break;
	case LOSS_TORN:
		d.gen[p]++;
		for (uint64_t i = 0; i < QWORDS / 2; i++)
			w[i] = pattern_word(p, d.gen[p], i);
		break;
	case LOSS_ZERO:
		for (uint64_t i = 0; i < QWORDS; i++)
			w[i] = 0;
		break;
	case LOSS_HALF:
		for (uint64_t i = 0; i < QWORDS; i += VEC_QWORDS)
			w[i + 2] = w[i + 3] = 0;
		break;
	case LOSS_OTHER:
	case LOSS_KINDS:
		w[7] ^= 1;
		break;
	}
}

static int dirty_setup(struct hvb_ctx *c, const char **reason)
{
	uint64_t rate = rt_param(c, "rate"), khz = rt_tsc_khz();
	size_t at;

	d.wss = rt_param(c, "wss_mib") << 20;
	d.pat = (enum pattern)rt_param(c, "pattern");
	d.lose_page = rt_param(c, "lose_page");
	d.lose_how = (enum loss)rt_param(c, "lose_how");
	d.store = rt_param(c, "store");
	if (d.store != 8 && d.store != 32) {
		*reason = "dirty.store is the bytes per store: 8 or 32";
		return -1;
	}
	if (c->quick && d.wss > (8u << 20))
		d.wss = 8u << 20;
	if (d.wss * 2 > rt_mem_available()) {
		*reason = "dirty.wss_mib is more than half the memory available here: lower it or "
			  "raise --guest-mem";
		return -1;
	}
	d.npages = d.wss / PAGE;
	d.cpus = rt_cpus() < HVB_MAX_VCPUS ? rt_cpus() : HVB_MAX_VCPUS;
	if (d.cpus > d.npages)
		d.cpus = (unsigned)d.npages;
	d.pages = rt_alloc(d.wss, PAGE);
	d.gen = rt_alloc(d.npages * sizeof(uint32_t), PAGE);
	d.stamp = rt_alloc(d.npages * sizeof(uint64_t), PAGE);
	d.hb = rt_alloc(PAGE, PAGE);
	if (!d.pages || !d.gen || !d.stamp || !d.hb) {
		*reason = "cannot allocate the working set";
		return -1;
	}
	for (uint64_t p = 0; p < d.npages; p++)
		page_write(p, rt_tsc_end());
	d.lost = 0;
	d.gap_max = 0, d.gap_end = 0;
	/* rate MiB/s = rate * 256 pages/s: ticks per page = khz * 1000 / (rate * 256) */
	slices_setup(rate * 256);
	d.hb_ticks = khz * HEARTBEAT_US / 1000;
	d.hb->magic = HEARTBEAT_MAGIC;
	c->bytes_per_op = PAGE;
	c->fixed_ops = rate * 256 * rt_param(c, "batch_ms") / 1000 ?: 1;
	at = rt_text_dec(d.note, sizeof(d.note), 0, rate);
	at = rt_text_str(d.note, sizeof(d.note), at, " MiB/s asked over ");
	at = rt_text_dec(d.note, sizeof(d.note), at, d.wss >> 20);
	at = rt_text_str(d.note, sizeof(d.note), at,
			 d.pat == PAT_SEQ ? " MiB seq" : d.pat == PAT_RANDOM ? " MiB random"
									     : " MiB hot/cold");
	if (d.cpus > 1) {
		at = rt_text_str(d.note, sizeof(d.note), at, ", one slice per vCPU x ");
		at = rt_text_dec(d.note, sizeof(d.note), at, d.cpus);
	}
	at = rt_text_str(d.note, sizeof(d.note), at, "; heartbeat at ");
	rt_text_hex(d.note, sizeof(d.note), at, (uint64_t)(uintptr_t)d.hb);
	c->note = d.note;
	rt_log(d.note);
	rt_migrate_enable(); /* a Xen PV guest suspends itself when asked */
	return 0;
}

static void heartbeat(struct hvb_ctx *c, uint64_t now)
{
	if (now - d.hb->tsc > d.gap_max)
		d.gap_max = now - d.hb->tsc, d.gap_end = now;
	rt_req_time(c, now - d.hb->tsc);
	d.hb->tsc = now;
	d.hb->seq++;
}

/* An AP's beat: its own longest gap (no shared state but its slice). */
static void ap_beat(struct slice *s, uint64_t now)
{
	if (now - s->hb_tsc > s->gap)
		s->gap = now - s->hb_tsc;
	s->hb_tsc = now;
}

/* Slice s's pages at its share of the rate from d.t0; vCPU 0 (c) beats
 * the heartbeat page, an AP (c NULL) its own. */
static void slice_run(struct hvb_ctx *c, struct slice *s)
{
	uint64_t t0 = d.t0, now = t0;

	s->hb_tsc = t0, s->gap = 0;
	for (uint64_t i = 0; i < s->n; i++) {
		uint64_t due = t0 + i * d.ticks_per_page;

		page_write(next_page(s), now);
		do {
			now = rt_tsc_end();
			if (c && now - d.hb->tsc >= d.hb_ticks) {
				heartbeat(c, now);
				/* between two heartbeats: its gap is the downtime */
				rt_migrate_point();
			} else if (!c && now - s->hb_tsc >= d.hb_ticks) {
				ap_beat(s, now);
			}
		} while (now < due);
	}
	if (!c)
		ap_beat(s, rt_tsc_end());
}

static void ap_writer(void *arg, unsigned cpu)
{
	(void)arg;
	slice_run(NULL, &d.sl[cpu]);
}

/* The APs' writers, each its share of n (vCPU 0 keeps the remainder);
 * false, and the cell failed, if one would not start. */
static bool aps_start(struct hvb_ctx *c, uint64_t n)
{
	d.sl[0].n = n - n / d.cpus * (d.cpus - 1);
	for (unsigned k = 1; k < d.cpus; k++) {
		d.sl[k].n = n / d.cpus;
		if (rt_cpu_start(k, ap_writer, 0) < 0) {
			while (--k)
				rt_cpu_wait(k);
			rt_fail(c, "a vCPU would not take its slice's writer (rt_cpu_start)");
			return false;
		}
	}
	return true;
}

/* Each AP's longest gap of the batch: a heartbeat sample too, so that
 * req_ns.max is the longest stop any vCPU saw. */
static void aps_wait(struct hvb_ctx *c)
{
	for (unsigned k = 1; k < d.cpus; k++) {
		rt_cpu_wait(k);
		if (d.sl[k].gap > d.gap_max)
			d.gap_max = d.sl[k].gap, d.gap_end = d.sl[k].hb_tsc;
		rt_req_time(c, d.sl[k].gap);
	}
}

/* n pages at the set rate (over every vCPU); a heartbeat whenever its
 * period passed. */
static void dirty_run(struct hvb_ctx *c, uint64_t n)
{
	d.t0 = rt_tsc_begin();
	d.hb->tsc = d.t0;
	d.sl[0].n = n;
	if (d.cpus > 1 && !aps_start(c, n))
		return;
	slice_run(c, &d.sl[0]);
	heartbeat(c, rt_tsc_end());
	aps_wait(c);
}

static void dirty_after(struct hvb_ctx *c, uint64_t n)
{
	uint64_t bad = check_all();
	uint32_t older = 0;
	enum loss k;
	size_t at;

	(void)n;
	if (bad == d.npages && d.lose_page) {
		/* The self-test of the check: spoil one page once, as a
		 * migration that lost it would. */
		page_spoil((d.lose_page - 1) % d.npages, d.lose_how);
		d.lose_page = 0;
		bad = check_all();
	}
	if (bad == d.npages)
		return;
	k = loss_kind(bad, &older);
	loss_log(bad, k, older);
	rt_req_count(c, d.lost);
	at = rt_text_str(d.why, sizeof(d.why), 0, "memory lost: page ");
	at = rt_text_dec(d.why, sizeof(d.why), at, bad);
	at = rt_text_str(d.why, sizeof(d.why), at, " (");
	at = rt_text_hex(d.why, sizeof(d.why), at, (uint64_t)(uintptr_t)(d.pages + bad * QWORDS));
	at = rt_text_str(d.why, sizeof(d.why), at, ") ");
	if (d.cpus > 1) {
		at = rt_text_str(d.why, sizeof(d.why), at, "of vCPU ");
		at = rt_text_dec(d.why, sizeof(d.why), at, slice_of(bad));
		at = rt_text_str(d.why, sizeof(d.why), at, "'s slice ");
	}
	at = rt_text_str(d.why, sizeof(d.why), at, loss_short[k]);
	at = rt_text_str(d.why, sizeof(d.why), at, "; ");
	at = rt_text_dec(d.why, sizeof(d.why), at, d.lost - 1);
	rt_text_str(d.why, sizeof(d.why), at, " more bad");
	rt_fail(c, d.why);
}

/* With N vCPUs, a log line per slice: its pages and the writes they took,
 * counted from their generations (what the vCPU really stored, not what
 * it was given). */
static void slices_log(void)
{
	char t[HVB_TEXT_MAX];
	size_t at;

	for (unsigned k = 0; d.cpus > 1 && k < d.cpus; k++) {
		const struct slice *s = &d.sl[k];
		uint64_t writes = 0;

		for (uint64_t p = s->first; p < s->first + s->npages; p++)
			writes += d.gen[p] - 1; /* setup wrote generation 1 */
		at = rt_text_str(t, sizeof(t), 0, "slice of vCPU ");
		at = rt_text_dec(t, sizeof(t), at, k);
		at = rt_text_str(t, sizeof(t), at, ": pages ");
		at = rt_text_dec(t, sizeof(t), at, s->first);
		at = rt_text_str(t, sizeof(t), at, "+");
		at = rt_text_dec(t, sizeof(t), at, s->npages);
		at = rt_text_str(t, sizeof(t), at, ", ");
		at = rt_text_dec(t, sizeof(t), at, writes);
		rt_text_str(t, sizeof(t), at, " writes");
		rt_log(t);
	}
}

static void dirty_teardown(struct hvb_ctx *c)
{
	(void)c;
	slices_log();
	rt_free(d.pages, d.wss);
	rt_free(d.gen, d.npages * sizeof(uint32_t));
	rt_free(d.stamp, d.npages * sizeof(uint64_t));
	rt_free(d.hb, PAGE);
	d.pages = 0, d.gen = 0, d.stamp = 0, d.hb = 0;
}

static const struct hvb_workload w_dirty = {
	.name = "migrate/dirty",
	.desc = "one 4 KiB page dirtied at dirty.rate over dirty.wss_mib (migration guest: "
		"heartbeat gaps, dirty rate, every page checked after each batch)",
	.kind = HVB_KIND_BANDWIDTH,
	.bytes_per_op = PAGE,
	.setup = dirty_setup,
	.run = dirty_run,
	.after_batch = dirty_after,
	.teardown = dirty_teardown,
	.per_request = true,
	.req_count = "lost_pages",
	.req_count_unit = "pages",
	.params = {
		{.name = "rate", .def = 64, .min = 1, .max = 16384, .unit = "MiB/s",
		 .help = "dirty rate asked for"},
		{.name = "wss_mib", .def = 16, .min = 1, .max = 4096, .unit = "MiB",
		 .help = "working set the writes go to"},
		{.name = "pattern", .def = 0, .min = 0, .max = 2, .unit = "0/1/2",
		 .help = "0 sequential, 1 random, 2 hot/cold (90% of writes to 10% of the pages)"},
		{.name = "lose_page", .def = 0, .min = 0, .max = 1u << 20, .unit = "page+1",
		 .help = "self-test: spoil page N-1 after the first batch (the check must fail)"},
		{.name = "batch_ms", .def = 100, .min = 10, .max = 10000, .unit = "ms",
		 .help = "schedule one batch covers: the repetition lasts --batches x this"},
		{.name = "lose_how", .def = 0, .min = 0, .max = LOSS_KINDS - 1, .unit = "0-4",
		 .help = "the spoil: 0 a bit flipped, 1 a write missing, 2 torn, 3 zeros, 4 top "
			 "16 bytes of every 32 zero"},
		{.name = "store", .def = 8, .min = 8, .max = 32, .unit = "bytes",
		 .help = "bytes per store writing a page: 8, or 32 (AVX; lost its top halves "
			 "after QEMU migrations here)"},
	},
};
HVB_WORKLOAD(w_dirty);
