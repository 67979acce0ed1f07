/*
 * mem/: the memory hierarchy as a workload sees it, where virtualization
 * adds two-dimensional page walks (EPT/NPT), host page faults and, under
 * nesting, shadow paging:
 *
 *   mem/stream-{copy,scale,add,triad}  sustained bandwidth (McCalpin STREAM)
 *   mem/chase-<size>                   load-to-use latency, 16 KiB .. 512 MiB
 *   mem/first-touch                    rate of populating never-touched memory
 */
#include "workload.h"

#include "mem/mem.h"

#define KIB	  1024ull
#define MIB	  (1024 * KIB)
#define PAGE_SIZE 4096ull
#define ALIGN_2M  (2 * MIB)

/* Is `bytes` available with headroom (1/8 + 32 MiB) for the rest of the
 * system or the guest runtime?  Otherwise skip with a reason. */
static bool mem_fits(uint64_t bytes, const char **why)
{
	if (rt_mem_available() < bytes + bytes / 8 + 32 * MIB) {
		*why = "not enough free memory for this working set (rt_mem_available too small)";
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ STREAM */

/*
 * GCC vector extensions make the kernels AVX2 (vmovapd / vmulpd / vfmadd)
 * with any -O level and compiler version, two vectors per iteration, as an
 * optimizing compiler does with McCalpin's stream.c.  Plain stores, as
 * stream.c gets by default: the write-allocate read is not counted, as STREAM
 * does not count it.
 */
typedef double v4d __attribute__((vector_size(32)));

void mem_stream_copy(double *c, const double *a, size_t n)
{
	v4d *vc = (v4d *)c;
	const v4d *va = (const v4d *)a;

	for (size_t i = 0; i < n / 4; i += 2) {
		vc[i] = va[i];
		vc[i + 1] = va[i + 1];
	}
}

void mem_stream_scale(double *b, const double *c, double q, size_t n)
{
	v4d *vb = (v4d *)b, vq = {q, q, q, q};
	const v4d *vc = (const v4d *)c;

	for (size_t i = 0; i < n / 4; i += 2) {
		vb[i] = vq * vc[i];
		vb[i + 1] = vq * vc[i + 1];
	}
}

void mem_stream_add(double *c, const double *a, const double *b, size_t n)
{
	v4d *vc = (v4d *)c;
	const v4d *va = (const v4d *)a, *vb = (const v4d *)b;

	for (size_t i = 0; i < n / 4; i += 2) {
		vc[i] = va[i] + vb[i];
		vc[i + 1] = va[i + 1] + vb[i + 1];
	}
}

void mem_stream_triad(double *a, const double *b, const double *c, double q, size_t n)
{
	v4d *va = (v4d *)a, vq = {q, q, q, q};
	const v4d *vb = (const v4d *)b, *vc = (const v4d *)c;

	for (size_t i = 0; i < n / 4; i += 2) {
		va[i] = vb[i] + vq * vc[i];
		va[i + 1] = vb[i + 1] + vq * vc[i + 1];
	}
}

/*
 * Array size: STREAM's rule is each array at least 4x the last-level cache.
 * This host reports 300 MiB of L3 (the whole socket's, shared with every
 * other tenant); measured here, triad and copy bandwidth stop depending on
 * the array size above 32-64 MiB and are the same at 128, 256 and 512 MiB.
 * 256 MiB arrays (768 MiB in all) therefore measure DRAM while fitting the
 * kvm runner's default 1 GiB guest, so native and guest run the same size.
 * Quick runs use 8 MiB arrays and say so in the note: they check plumbing,
 * not the memory system.
 */
#define STREAM_BYTES	   (256 * MIB)
#define STREAM_QUICK_BYTES (8 * MIB)
#define STREAM_Q	   3.0

enum stream_kernel { STREAM_COPY, STREAM_SCALE, STREAM_ADD, STREAM_TRIAD };

struct stream {
	double *a, *b, *c;
	size_t n, bytes; /* elements and bytes per array */
};

static size_t stream_bytes(const struct hvb_ctx *c)
{
	return c->quick ? STREAM_QUICK_BYTES : STREAM_BYTES;
}

static bool valid_stream(struct hvb_ctx *c, const char **why)
{
	if (c->quick)
		c->note = "quick run: 8 MiB arrays (cache-resident on large-LLC hosts)";
	return mem_fits(3 * stream_bytes(c), why);
}

/* The arrays and the struct itself: one per ctx (per CPU in an smp run),
 * so no two CPUs share a buffer. */
static void stream_free(struct stream *s)
{
	rt_free(s->a, s->bytes), rt_free(s->b, s->bytes), rt_free(s->c, s->bytes);
	rt_free(s, sizeof(*s));
}

static void stream_pass(const struct stream *s, enum stream_kernel k)
{
	switch (k) {
	case STREAM_COPY:
		mem_stream_copy(s->c, s->a, s->n);
		break;
	case STREAM_SCALE:
		mem_stream_scale(s->b, s->c, STREAM_Q, s->n);
		break;
	case STREAM_ADD:
		mem_stream_add(s->c, s->a, s->b, s->n);
		break;
	case STREAM_TRIAD:
		mem_stream_triad(s->a, s->b, s->c, STREAM_Q, s->n);
		break;
	}
}

/* Does every element of v equal x?  (Exact: the inputs are small integers.) */
static bool all_equal(const double *v, size_t n, double x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != x)
			return false;
	return true;
}

/*
 * Allocate three 2 MiB-aligned arrays and write every element (so every page
 * is populated before timing, natively and in the guest), then run the
 * kernel once and check all of its output, as stream.c does at the end.
 */
static int stream_setup(struct hvb_ctx *c, const char **why, enum stream_kernel k)
{
	static const double expect[] = {
	    [STREAM_COPY] = 1.0, [STREAM_SCALE] = 6.0, [STREAM_ADD] = 3.0, [STREAM_TRIAD] = 8.0};
	struct stream *s = rt_alloc(sizeof(*s), 64);
	const double *out;

	if (!s) {
		*why = "out of memory for the STREAM state";
		return -1;
	}
	rt_memset(s, 0, sizeof(*s));
	s->bytes = stream_bytes(c);
	s->n = s->bytes / sizeof(double);
	s->a = rt_alloc(s->bytes, ALIGN_2M);
	s->b = rt_alloc(s->bytes, ALIGN_2M);
	s->c = rt_alloc(s->bytes, ALIGN_2M);
	if (!s->a || !s->b || !s->c) {
		stream_free(s);
		/* (each CPU of an smp run has its own three) */
		*why = "out of memory for the three STREAM arrays: raise --guest-mem";
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		s->a[i] = 1.0, s->b[i] = 2.0, s->c[i] = 2.0;
	stream_pass(s, k);
	out = k == STREAM_SCALE ? s->b : k == STREAM_TRIAD ? s->a : s->c;
	if (!all_equal(out, s->n, expect[k])) {
		stream_free(s);
		*why = "self-check failed: the STREAM kernel computed wrong values";
		return -1;
	}
	/* Bytes as STREAM counts them: arrays read plus arrays written. */
	c->bytes_per_op = (k == STREAM_ADD || k == STREAM_TRIAD ? 3 : 2) * s->bytes;
	c->priv = s;
	return 0;
}

static void stream_teardown(struct hvb_ctx *c)
{
	stream_free(c->priv);
}

#define STREAM_WORKLOAD(kname, KERNEL, what)                                                       \
	static int setup_stream_##kname(struct hvb_ctx *c, const char **why)                       \
	{                                                                                          \
		return stream_setup(c, why, KERNEL);                                               \
	}                                                                                          \
	static void run_stream_##kname(struct hvb_ctx *c, uint64_t n)                              \
	{                                                                                          \
		for (uint64_t i = 0; i < n; i++)                                                   \
			stream_pass(c->priv, KERNEL);                                              \
		rt_keep(c->priv);                                                                  \
	}                                                                                          \
	static const struct hvb_workload w_stream_##kname = {                                      \
	    .name = "mem/stream-" #kname,                                                          \
	    .desc = "STREAM " #kname ": " what ", 256 MiB arrays of doubles, one op = one pass",   \
	    .kind = HVB_KIND_BANDWIDTH,                                                            \
	    .valid = valid_stream,                                                                 \
	    .setup = setup_stream_##kname,                                                         \
	    .run = run_stream_##kname,                                                             \
	    .teardown = stream_teardown,                                                           \
	    .smp = true,                                                                           \
	};                                                                                         \
	HVB_WORKLOAD(w_stream_##kname)

STREAM_WORKLOAD(copy, STREAM_COPY, "c[i] = a[i]");
STREAM_WORKLOAD(scale, STREAM_SCALE, "b[i] = q*c[i]");
STREAM_WORKLOAD(add, STREAM_ADD, "c[i] = a[i] + b[i]");
STREAM_WORKLOAD(triad, STREAM_TRIAD, "a[i] = b[i] + q*c[i]");

/* ------------------------------------------------------------ pointer chase */

/* Uniform in [0, bound) without division: the high half of a 64x64 product. */
static inline size_t rand_below(uint64_t *seed, size_t bound)
{
	return (size_t)(((unsigned __int128)rt_rand(seed) * bound) >> 64);
}

void mem_chase_build(struct mem_chase_node *nodes, size_t count, uint64_t seed)
{
	/* Sattolo: perm starts as the identity (kept in pad[0]); swapping each
	 * slot i only with a j < i yields a single cycle of length count. */
	for (size_t i = 0; i < count; i++)
		nodes[i].pad[0] = i;
	for (size_t i = count - 1; i > 0; i--) {
		size_t j = rand_below(&seed, i);
		uint64_t t = nodes[i].pad[0];

		nodes[i].pad[0] = nodes[j].pad[0];
		nodes[j].pad[0] = t;
	}
	for (size_t i = 0; i < count; i++)
		nodes[i].next = &nodes[nodes[i].pad[0]];
}

struct mem_chase_node *mem_chase_run(struct mem_chase_node *p, uint64_t n)
{
	uint64_t i = 0;

	/* Unrolled so loop overhead stays off the critical path; each load's
	 * address is the previous load's value, so nothing can overlap. */
	for (; i + 8 <= n; i += 8) {
		p = p->next, p = p->next, p = p->next, p = p->next;
		p = p->next, p = p->next, p = p->next, p = p->next;
	}
	for (; i < n; i++)
		p = p->next;
	return p;
}

#define CHASE_SEED	0x2545f4914f6cdd1dull
#define CHASE_QUICK_MAX (64 * MIB)

struct chase {
	struct mem_chase_node *nodes, *cur;
	uint64_t bytes;
};

static struct chase chase;

static bool chase_valid(struct hvb_ctx *c, const char **why, uint64_t bytes)
{
	if (c->quick && bytes > CHASE_QUICK_MAX) {
		*why = "quick run: working set above 64 MiB skipped";
		return false;
	}
	return mem_fits(bytes, why);
}

static int chase_setup(struct hvb_ctx *c, const char **why, uint64_t bytes)
{
	struct chase *ch = &chase;

	ch->bytes = bytes;
	ch->nodes = rt_alloc(bytes, bytes < ALIGN_2M ? bytes : ALIGN_2M);
	if (!ch->nodes) {
		*why = "out of memory for the pointer-chase working set";
		return -1;
	}
	mem_chase_build(ch->nodes, bytes / sizeof(struct mem_chase_node), CHASE_SEED);
	/* After the build touched every node: what pages the TLB works with. */
	c->note = rt_mem_page_note(ch->nodes, bytes);
	ch->cur = ch->nodes;
	c->priv = ch;
	return 0;
}

static void run_chase(struct hvb_ctx *c, uint64_t n)
{
	struct chase *ch = c->priv;

	/* Batches continue along the cycle; storing the end keeps the chain live. */
	ch->cur = mem_chase_run(ch->cur, n);
	rt_keep(ch->cur);
}

static void teardown_chase(struct hvb_ctx *c)
{
	struct chase *ch = c->priv;

	rt_free(ch->nodes, ch->bytes);
	ch->nodes = ch->cur = 0;
}

/* The sweep: one descriptor per working-set size (the report parses the size
 * from the name).  Pages are --page-size everywhere (4 KiB by default), so
 * the large sizes include the TLB misses of that page size, the same natively
 * and in a guest; the note says what the buffer got. */
#define CHASE_SIZES(X)                                                                             \
	X(16KiB, 16 * KIB)                                                                         \
	X(32KiB, 32 * KIB)                                                                         \
	X(64KiB, 64 * KIB)                                                                         \
	X(128KiB, 128 * KIB)                                                                       \
	X(256KiB, 256 * KIB)                                                                       \
	X(512KiB, 512 * KIB)                                                                       \
	X(1MiB, 1 * MIB)                                                                           \
	X(2MiB, 2 * MIB)                                                                           \
	X(4MiB, 4 * MIB)                                                                           \
	X(8MiB, 8 * MIB)                                                                           \
	X(16MiB, 16 * MIB)                                                                         \
	X(32MiB, 32 * MIB)                                                                         \
	X(64MiB, 64 * MIB)                                                                         \
	X(128MiB, 128 * MIB)                                                                       \
	X(256MiB, 256 * MIB)                                                                       \
	X(512MiB, 512 * MIB)

#define CHASE_WORKLOAD(tag, bytes)                                                                 \
	static bool valid_chase_##tag(struct hvb_ctx *c, const char **why)                         \
	{                                                                                          \
		return chase_valid(c, why, bytes);                                                 \
	}                                                                                          \
	static int setup_chase_##tag(struct hvb_ctx *c, const char **why)                          \
	{                                                                                          \
		return chase_setup(c, why, bytes);                                                 \
	}                                                                                          \
	static const struct hvb_workload w_chase_##tag = {                                         \
	    .name = "mem/chase-" #tag,                                                             \
	    .desc = "one dependent load, random cycle of 64-byte nodes over " #tag,                \
	    .kind = HVB_KIND_TIME_PER_OP,                                                          \
	    .valid = valid_chase_##tag,                                                            \
	    .setup = setup_chase_##tag,                                                            \
	    .run = run_chase,                                                                      \
	    .teardown = teardown_chase,                                                            \
	};                                                                                         \
	HVB_WORKLOAD(w_chase_##tag);

CHASE_SIZES(CHASE_WORKLOAD)

/* ------------------------------------------------------------ first touch */

/*
 * The rate at which fresh memory becomes usable, in MB/s: one op populates a
 * never-touched 2 MiB region with one write per 4 KiB page (the fault, the
 * zeroing and the mapping are the cost, natively a host page fault per page,
 * in a VM an EPT/NPT violation per page on top of the guest's own mapping).
 * micro/first-touch reports the same event as ns per page; this is the
 * application-level view, at a region granularity an allocator would use.
 */
#define FT_REGION  (2 * MIB)
#define FT_MAX_OPS 64 /* 128 MiB of fresh memory per batch at most */

struct first_touch {
	uint8_t *mem;
	uint64_t regions;
};

static struct first_touch ftouch;

static bool valid_ftouch(struct hvb_ctx *c, const char **why)
{
	/* Natively the note becomes what smaps shows after the first batch. */
	c->note = c->native ? "native: anonymous page faults (--page-size)"
		  : (c->caps & HVB_CAP_XEN_PV)
			  ? "Xen PV: #PF bounced to the guest kernel, update_va_mapping, "
			    "HYPERVISOR_iret per 4 KiB page"
			  : "EPT/NPT violation per host page backing guest RAM (--page-size)";
	if (!c->native && !rt_has(HVB_CAP_RELEASE, why))
		return false;
	return mem_fits(FT_MAX_OPS * FT_REGION, why);
}

static int setup_ftouch(struct hvb_ctx *c, const char **why)
{
	void *probe = rt_fresh_alloc(FT_MAX_OPS * FT_REGION);

	if (!probe) {
		*why = "not enough fresh memory for 128 MiB of first touches";
		return -1;
	}
	rt_fresh_release(probe, FT_MAX_OPS * FT_REGION);
	c->priv = &ftouch;
	return 0;
}

static void ftouch_before(struct hvb_ctx *c, uint64_t n)
{
	struct first_touch *f = c->priv;

	f->mem = rt_fresh_alloc(n * FT_REGION);
	f->regions = f->mem ? n : 0;
	if (!f->mem) {
		/* Nothing gets touched, so the figure would be fiction: mark it. */
		c->note = "INVALID: fresh memory ran out mid-run (rt_fresh_alloc failed)";
		rt_log("mem/first-touch: rt_fresh_alloc failed; samples marked INVALID");
	}
}

static void run_ftouch(struct hvb_ctx *c, uint64_t n)
{
	struct first_touch *f = c->priv;
	volatile uint8_t *p = f->mem;

	if (n > f->regions)
		return;
	for (uint64_t i = 0; i < n * (FT_REGION / PAGE_SIZE); i++)
		p[i * PAGE_SIZE] = 1;
}

static void ftouch_after(struct hvb_ctx *c, uint64_t n)
{
	struct first_touch *f = c->priv;

	(void)n;
	if (c->native && f->mem)
		c->note = rt_mem_page_note(f->mem, f->regions * FT_REGION);
	rt_fresh_release(f->mem, f->regions * FT_REGION);
	f->mem = 0;
	f->regions = 0;
}

static const struct hvb_workload w_first_touch = {
    .name = "mem/first-touch",
    .desc = "populate a never-touched 2 MiB region, one write per 4 KiB page",
    .kind = HVB_KIND_BANDWIDTH,
    .bytes_per_op = FT_REGION,
    .valid = valid_ftouch,
    .setup = setup_ftouch,
    .before_batch = ftouch_before,
    .run = run_ftouch,
    .after_batch = ftouch_after,
    .max_ops = FT_MAX_OPS,
};
HVB_WORKLOAD(w_first_touch);
