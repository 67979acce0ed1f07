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
 *                  dirty.lose_page=N spoils page N-1 once, the check's
 *                  own test
 * Every page's content is a function of (page, generation), its
 * generation kept beside it; after every batch (untimed) the whole working
 * set is checked, and a page that does not hold what was last written
 * fails the cell, naming the first bad page.
 *
 * The TSC after a migration: on one host the reference core keeps it
 * continuous (hv/vcpu_state.h), so a gap is time the guest did not run.
 * Natively (the twin) the same code measures scheduling gaps.
 */
#include "workload.h"

#define HEARTBEAT_US 1000 /* heartbeat period */
#define PAGE	     4096u
#define QWORDS	     (PAGE / 8)

enum pattern { PAT_SEQ = 0, PAT_RANDOM = 1, PAT_HOTCOLD = 2 };

/* The page the host can read: where the guest was, and when. */
struct heartbeat {
	uint64_t tsc;	/* the latest heartbeat's TSC */
	uint64_t seq;	/* heartbeats so far */
	uint64_t magic; /* HEARTBEAT_MAGIC: the host finds the page by it */
};
#define HEARTBEAT_MAGIC 0x4856424842454154ull /* "HVBHBEAT" */

static struct {
	uint64_t *pages;	/* wss bytes */
	uint32_t *gen;		/* per page: generation last written */
	struct heartbeat *hb;	/* one page */
	uint64_t npages, wss, cursor, rng;
	uint64_t ticks_per_page, hb_ticks;
	enum pattern pat;
	uint64_t lose_page;	/* dirty.lose_page: 1 + the page to spoil once (0: none) */
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

static uint64_t next_page(void)
{
	uint64_t hot = d.npages / 10 ? d.npages / 10 : 1;

	switch (d.pat) {
	case PAT_RANDOM:
		return rt_rand(&d.rng) % d.npages;
	case PAT_HOTCOLD:
		if (rt_rand(&d.rng) % 10)
			return rt_rand(&d.rng) % hot;
		return hot + rt_rand(&d.rng) % (d.npages - hot ? d.npages - hot : 1);
	case PAT_SEQ:
		break;
	}
	return d.cursor++ % d.npages;
}

static void page_write(uint64_t p)
{
	uint64_t *w = d.pages + p * QWORDS;
	uint32_t g = ++d.gen[p];

	for (uint64_t i = 0; i < QWORDS; i++)
		w[i] = pattern_word(p, g, i);
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

static int dirty_setup(struct hvb_ctx *c, const char **reason)
{
	uint64_t rate = rt_param(c, "rate"), khz = rt_tsc_khz();
	size_t at;

	d.wss = rt_param(c, "wss_mib") << 20;
	d.pat = (enum pattern)rt_param(c, "pattern");
	d.lose_page = rt_param(c, "lose_page");
	if (c->quick && d.wss > (8u << 20))
		d.wss = 8u << 20;
	if (d.wss * 2 > rt_mem_available()) {
		*reason = "dirty.wss_mib is more than half the memory available here: lower it or "
			  "raise --guest-mem";
		return -1;
	}
	d.npages = d.wss / PAGE;
	d.pages = rt_alloc(d.wss, PAGE);
	d.gen = rt_alloc(d.npages * sizeof(uint32_t), PAGE);
	d.hb = rt_alloc(PAGE, PAGE);
	if (!d.pages || !d.gen || !d.hb) {
		*reason = "cannot allocate the working set";
		return -1;
	}
	for (uint64_t p = 0; p < d.npages; p++)
		page_write(p);
	d.rng = 0x2545f4914f6cdd1dull;
	d.cursor = 0;
	d.lost = 0;
	/* rate MiB/s = rate * 256 pages/s: ticks per page = khz * 1000 / (rate * 256) */
	d.ticks_per_page = khz * 1000 / (rate * 256) ?: 1;
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
	at = rt_text_str(d.note, sizeof(d.note), at, "; heartbeat at ");
	rt_text_hex(d.note, sizeof(d.note), at, (uint64_t)(uintptr_t)d.hb);
	c->note = d.note;
	rt_log(d.note);
	return 0;
}

static void heartbeat(struct hvb_ctx *c, uint64_t now)
{
	rt_req_time(c, now - d.hb->tsc);
	d.hb->tsc = now;
	d.hb->seq++;
}

/* n pages at the set rate; a heartbeat whenever its period passed. */
static void dirty_run(struct hvb_ctx *c, uint64_t n)
{
	uint64_t t0 = rt_tsc_begin(), now = t0;

	d.hb->tsc = t0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t due = t0 + i * d.ticks_per_page;

		page_write(next_page());
		do {
			now = rt_tsc_end();
			if (now - d.hb->tsc >= d.hb_ticks)
				heartbeat(c, now);
		} while (now < due);
	}
	heartbeat(c, rt_tsc_end());
}

static void dirty_after(struct hvb_ctx *c, uint64_t n)
{
	uint64_t bad = check_all();
	size_t at;

	(void)n;
	if (bad == d.npages && d.lose_page) {
		/* The self-test of the check: spoil one page once, as a
		 * migration that lost it would. */
		d.pages[(d.lose_page - 1) % d.npages * QWORDS + 7] ^= 1;
		d.lose_page = 0;
		bad = check_all();
	}
	if (bad == d.npages)
		return;
	rt_req_count(c, d.lost);
	at = rt_text_str(d.why, sizeof(d.why), 0, "memory lost: page ");
	at = rt_text_dec(d.why, sizeof(d.why), at, bad);
	at = rt_text_str(d.why, sizeof(d.why), at, " of the working set (");
	at = rt_text_hex(d.why, sizeof(d.why), at, (uint64_t)(uintptr_t)(d.pages + bad * QWORDS));
	at = rt_text_str(d.why, sizeof(d.why), at, ") and ");
	at = rt_text_dec(d.why, sizeof(d.why), at, d.lost - 1);
	rt_text_str(d.why, sizeof(d.why), at, " more do not hold what was written");
	rt_fail(c, d.why);
}

static void dirty_teardown(struct hvb_ctx *c)
{
	(void)c;
	rt_free(d.pages, d.wss);
	rt_free(d.gen, d.npages * sizeof(uint32_t));
	rt_free(d.hb, PAGE);
	d.pages = 0, d.gen = 0, d.hb = 0;
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
	},
};
HVB_WORKLOAD(w_dirty);
