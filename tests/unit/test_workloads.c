/*
 * The cpu/ and mem/ workloads compute what their names say: kernels against
 * known answers and naive references, hooks through the descriptors, and the
 * descriptors' kinds.  Correctness only: nothing here looks at speed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "harness.h"
#include "mem/mem.h"
#include "native/rt_native.h"
#include "tap.h"

static void hex_digest(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256(void)
{
	/* FIPS 180-4 examples, and the padding edge cases around 55/56/64 bytes
	 * (digests computed independently with Python's hashlib). */
	static const struct {
		const char *msg;
		size_t a_count; /* msg NULL: that many 'a's */
		const char *hex;
	} v[] = {
	    {"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {NULL, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
	    {NULL, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
	    {NULL, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
	    {NULL, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
	    {NULL, 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
	    {NULL, 1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"},
	};
	char buf[1000], hex[65];
	int bad = 0;
	uint8_t d[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *msg = v[i].msg;
		size_t len = msg ? strlen(msg) : v[i].a_count;

		if (!msg) {
			memset(buf, 'a', len);
			msg = buf;
		}
		cpu_sha256(msg, len, d);
		hex_digest(d, hex);
		if (strcmp(hex, v[i].hex)) {
			printf("#   SHA-256 of %zu bytes: got %s, expected %s\n", len, hex,
			       v[i].hex);
			bad++;
		}
	}
	TAP_EQ_INT(bad, 0, "SHA-256 matches known digests (FIPS examples, padding edges)");
}

static void test_crc32c(void)
{
	uint8_t buf[256];
	uint64_t seed = 42;
	int bad = 0;

	cpu_crc32c_init();
	TAP_EQ_INT(cpu_crc32c("123456789", 9), 0xe3069283u, "CRC-32C check value");
	TAP_EQ_INT(cpu_crc32c("", 0), 0, "CRC-32C of nothing is 0");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rt_rand(&seed);
	/* Slicing-by-8 against the one-table reference at every length and
	 * misalignment: exercises the 8-byte loop and the byte tail. */
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= 200; len++)
			bad += cpu_crc32c(buf + off, len) != cpu_crc32c_bytewise(buf + off, len);
	TAP_EQ_INT(bad, 0, "slicing-by-8 CRC-32C equals the bytewise one (all lengths, offsets)");
}

static void test_matmul(void)
{
	static const unsigned sizes[] = {8, 16, 40, 64};
	uint64_t seed = 7;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned n = sizes[s];
		size_t nn = (size_t)n * n;
		double *a = malloc(nn * 8), *b = malloc(nn * 8), *c = malloc(nn * 8),
		       *ref = malloc(nn * 8), *pack = malloc(nn * 8), worst = 0;
		char desc[80];

		for (size_t i = 0; i < nn; i++) {
			a[i] = (double)(rt_rand(&seed) >> 11) / (double)(1ull << 53) - 0.5;
			b[i] = (double)(rt_rand(&seed) >> 11) / (double)(1ull << 53) - 0.5;
		}
		cpu_matmul(a, b, c, n, pack);
		cpu_matmul_naive(a, b, ref, n);
		for (size_t i = 0; i < nn; i++) {
			double e = c[i] > ref[i] ? c[i] - ref[i] : ref[i] - c[i];
			worst = e > worst ? e : worst;
		}
		/* FMA and a different summation order: rounding differences only. */
		snprintf(desc, sizeof(desc), "blocked matmul equals the naive one, n=%u", n);
		TAP_OK(worst < 1e-12 * n, desc);
		free(a), free(b), free(c), free(ref), free(pack);
	}
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static void test_sort(void)
{
	static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 100, 1000, 65536};
	uint32_t *v = malloc(65536 * 4), *ref = malloc(65536 * 4);
	uint64_t seed = 3;
	int bad = 0;

	/* Shapes: random, few distinct values, sorted, reversed, organ pipe,
	 * all equal -- the last ones are quicksort's bad cases. */
	for (int shape = 0; shape < 6; shape++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			size_t n = sizes[s];

			for (size_t i = 0; i < n; i++) {
				uint32_t r = (uint32_t)(rt_rand(&seed) >> 32);
				v[i] = shape == 0   ? r
				       : shape == 1 ? r % 4
				       : shape == 2 ? (uint32_t)i
				       : shape == 3 ? (uint32_t)(n - i)
				       : shape == 4 ? (uint32_t)(i < n / 2 ? i : n - i)
						    : 7;
			}
			memcpy(ref, v, n * 4);
			qsort(ref, n, 4, cmp_u32);
			cpu_sort_u32(v, n);
			if (n && memcmp(v, ref, n * 4)) {
				printf("#   shape %d, %zu keys: wrong order\n", shape, n);
				bad++;
			}
		}
	TAP_EQ_INT(bad, 0, "introsort output equals qsort's for every size and input shape");
	free(v), free(ref);
}

static void test_stream_kernels(void)
{
	enum { N = 64 };
	double *a = aligned_alloc(64, N * 8), *b = aligned_alloc(64, N * 8),
	       *c = aligned_alloc(64, N * 8);
	int bad = 0;

	for (int i = 0; i < N; i++)
		a[i] = i, b[i] = 1000 + i, c[i] = -1;
	mem_stream_copy(c, a, N);
	for (int i = 0; i < N; i++)
		bad += c[i] != i;
	TAP_EQ_INT(bad, 0, "STREAM copy: c[i] = a[i]");

	mem_stream_scale(b, c, 3.0, N);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += b[i] != 3.0 * i;
	TAP_EQ_INT(bad, 0, "STREAM scale: b[i] = 3 * c[i]");

	for (int i = 0; i < N; i++)
		b[i] = 1000 + i;
	mem_stream_add(c, a, b, N);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += c[i] != 1000 + 2.0 * i;
	TAP_EQ_INT(bad, 0, "STREAM add: c[i] = a[i] + b[i]");

	mem_stream_triad(a, b, c, 3.0, N);
	bad = 0;
	for (int i = 0; i < N; i++)
		bad += a[i] != (1000 + i) + 3.0 * (1000 + 2.0 * i);
	TAP_EQ_INT(bad, 0, "STREAM triad: a[i] = b[i] + 3 * c[i]");

	/* A kernel writes only its n elements. */
	a[8] = -5;
	mem_stream_copy(c, a, 8);
	TAP_OK(c[8] == 1000 + 16.0, "a STREAM kernel touches only n elements");
	free(a), free(b), free(c);
}

static void test_chase(void)
{
	static const size_t counts[] = {1, 2, 3, 7, 256, 4096, 65536};
	int bad_cycle = 0, bad_run = 0, sequential = 0;

	for (size_t s = 0; s < sizeof(counts) / sizeof(counts[0]); s++) {
		size_t n = counts[s], steps = 0;
		struct mem_chase_node *nodes = aligned_alloc(64, n * sizeof(*nodes)), *p = nodes;
		char *seen = calloc(n, 1);

		mem_chase_build(nodes, n, 99);
		do {
			size_t i = (size_t)(p - nodes);
			if (i >= n || seen[i]++)
				break;
			p = p->next;
			steps++;
		} while (p != nodes);
		if (steps != n || p != nodes) {
			printf("#   %zu nodes: cycle of %zu steps\n", n, steps);
			bad_cycle++;
		}
		bad_run += mem_chase_run(nodes, n) != nodes; /* n loads go round once */
		if (n > 2)
			bad_run += mem_chase_run(nodes, 1) != nodes->next ||
				   mem_chase_run(nodes, 11) != mem_chase_run(nodes->next, 10);
		for (size_t i = 0; i + 1 < n; i++)
			sequential += nodes[i].next == &nodes[i + 1];
		free(nodes), free(seen);
	}
	TAP_EQ_INT(bad_cycle, 0, "the chase permutation is one cycle through every node");
	TAP_EQ_INT(bad_run, 0, "mem_chase_run follows exactly n pointers");
	TAP_OK(sequential < 16, "the chase order is not sequential (prefetch-friendly)");
}

static struct hvb_ctx ctx_for(const struct hvb_workload *w, bool quick, bool native)
{
	struct hvb_ctx c;

	memset(&c, 0, sizeof(c));
	c.w = w;
	c.bytes_per_op = w->bytes_per_op;
	c.note = w->note;
	c.quick = quick;
	c.native = native;
	return c;
}

/* valid / setup (the self-checks) / one small batch / teardown, as the
 * harness would; returns the setup reason on failure via *why. */
static bool run_hooks(const char *name, bool quick, uint64_t n, struct hvb_ctx *out,
		      const char **why)
{
	const struct hvb_workload *w = hvb_workload_find(name);
	struct hvb_ctx c;

	*why = "no such workload";
	if (!w)
		return false;
	c = ctx_for(w, quick, true);
	*why = "";
	if (w->valid && !w->valid(&c, why))
		return false;
	if (w->setup && w->setup(&c, why) < 0)
		return false;
	if (w->before_batch)
		w->before_batch(&c, n);
	w->run(&c, n);
	if (w->after_batch)
		w->after_batch(&c, n);
	if (out)
		*out = c;
	if (w->teardown)
		w->teardown(&c);
	return true;
}

static void test_hooks(void)
{
	static const char *const names[] = {"cpu/sha256",     "cpu/crc32c",	 "cpu/matmul",
					    "cpu/sort",	      "mem/chase-16KiB", "mem/chase-4MiB",
					    "mem/first-touch"};
	struct hvb_ctx c;
	const char *why;
	char desc[120];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool ok = run_hooks(names[i], true, 2, NULL, &why);

		snprintf(desc, sizeof(desc), "%s: setup self-check passes and a batch runs",
			 names[i]);
		if (!TAP_OK(ok, desc))
			printf("#   reason: %s\n", why);
	}
	TAP_OK(run_hooks("mem/stream-copy", true, 1, &c, &why) && c.bytes_per_op == 2 * 8 << 20,
	       "stream-copy (quick): self-check passes, counts 2 arrays x 8 MiB per pass");
	TAP_OK(run_hooks("mem/stream-triad", true, 1, &c, &why) && c.bytes_per_op == 3 * 8 << 20,
	       "stream-triad (quick): self-check passes, counts 3 arrays x 8 MiB per pass");
	TAP_OK(run_hooks("mem/stream-scale", true, 1, &c, &why) && c.bytes_per_op == 2 * 8 << 20,
	       "stream-scale (quick): self-check passes, counts 2 arrays x 8 MiB per pass");
	TAP_OK(run_hooks("mem/stream-add", true, 1, &c, &why) && c.bytes_per_op == 3 * 8 << 20,
	       "stream-add (quick): self-check passes, counts 3 arrays x 8 MiB per pass");

	TAP_OK(!run_hooks("mem/chase-128MiB", true, 1, NULL, &why) &&
		   !strcmp(why, "quick run: working set above 64 MiB skipped"),
	       "quick runs skip chase sizes above 64 MiB with the reason");
}

static void test_first_touch_guest(void)
{
	const struct hvb_workload *w = hvb_workload_find("mem/first-touch");
	struct hvb_ctx c;
	const char *why = "";

	if (!w) {
		TAP_OK(0, "mem/first-touch is registered");
		return;
	}
	c = ctx_for(w, false, false); /* a guest without HVB_CAP_RELEASE */
	TAP_OK(!w->valid(&c, &why) && strstr(why, "return pages"),
	       "mem/first-touch in a guest needs HVB_CAP_RELEASE");
}

static void test_descriptors(void)
{
	static const char *const sizes[] = {
	    "16KiB", "32KiB", "64KiB", "128KiB", "256KiB", "512KiB", "1MiB",   "2MiB",
	    "4MiB",  "8MiB",  "16MiB", "32MiB",	 "64MiB",  "128MiB", "256MiB", "512MiB"};
	static const struct {
		const char *name;
		enum hvb_kind kind;
		uint64_t bytes_per_op;
	} k[] = {
	    {"cpu/sha256", HVB_KIND_BANDWIDTH, 65536},
	    {"cpu/crc32c", HVB_KIND_BANDWIDTH, 65536},
	    {"cpu/matmul", HVB_KIND_RATE, 0},
	    {"cpu/sort", HVB_KIND_TIME_PER_OP, 0},
	    {"mem/stream-copy", HVB_KIND_BANDWIDTH, 0}, /* set by setup */
	    {"mem/stream-scale", HVB_KIND_BANDWIDTH, 0},
	    {"mem/stream-add", HVB_KIND_BANDWIDTH, 0},
	    {"mem/stream-triad", HVB_KIND_BANDWIDTH, 0},
	    {"mem/first-touch", HVB_KIND_BANDWIDTH, 2 << 20},
	};
	const struct hvb_workload *w;
	int bad = 0, chase = 0;
	char name[64];

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		w = hvb_workload_find(k[i].name);
		if (!w || w->kind != k[i].kind || w->bytes_per_op != k[i].bytes_per_op) {
			printf("#   %s: missing or wrong kind / bytes_per_op\n", k[i].name);
			bad++;
		}
	}
	TAP_EQ_INT(bad, 0, "cpu/ and mem/ descriptors have the intended kind and bytes per op");

	bad = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "mem/chase-%s", sizes[i]);
		w = hvb_workload_find(name);
		bad += !w || w->kind != HVB_KIND_TIME_PER_OP;
	}
	for (const struct hvb_workload *const *p = hvb_workloads_begin(); p < hvb_workloads_end();
	     p++)
		chase += !strncmp((*p)->name, "mem/chase-", 10);
	TAP_EQ_INT(bad, 0, "mem/chase-16KiB .. mem/chase-512MiB exist, all ns per load");
	TAP_EQ_INT(chase, 16, "exactly 16 chase sizes");

	w = hvb_workload_find("mem/first-touch");
	TAP_OK(w && w->max_ops && w->before_batch && w->after_batch,
	       "mem/first-touch bounds its memory (max_ops) and gets fresh pages untimed");
	w = hvb_workload_find("cpu/sort");
	TAP_OK(w && w->max_ops && w->before_batch, "cpu/sort regenerates keys untimed, bounded");
}

int main(void)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);

	rt_native_set_fd(devnull); /* workloads may rt_log(); no host reads here */
	test_sha256();
	test_crc32c();
	test_matmul();
	test_sort();
	test_stream_kernels();
	test_chase();
	test_descriptors();
	test_hooks();
	test_first_touch_guest();
	return tap_done();
}
