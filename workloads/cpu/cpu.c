/*
 * cpu/: compute-bound workloads that touch little memory (their working sets
 * fit in L2), so they show what virtualization does to plain user-mode
 * execution: in a VM with hardware paging this should be ~nothing, which is
 * exactly what these cells are there to confirm.
 *
 *   cpu/sha256   integer: rotates, adds, message schedule (scalar, no SHA-NI)
 *   cpu/crc32c   integer: table lookups, slicing-by-8 (no SSE4.2 crc32)
 *   cpu/matmul   floating point: 256x256 DGEMM, AVX2 FMA register tiles
 *   cpu/sort     branchy: introsort of 64 Ki random 32-bit keys
 *
 * Every setup checks its kernel against a known answer and fails the cell
 * with a reason if it is wrong: a fast wrong answer is not a result.
 *
 * Units: the hashes are BANDWIDTH (MB/s of input, as hash speeds are quoted;
 * 64 KiB per op keeps per-call overhead and padding under 0.2%), matmul is
 * RATE with one op = one whole 256x256 product (run(n) must do exactly n
 * ops, so an op cannot be a single flop; the note gives the GFLOP/s factor),
 * sort is TIME_PER_OP (ns per 64 Ki-key sort).
 */
#include "workload.h"

#include "cpu/cpu.h"

#define KIB 1024ull

/* Data for the hashing workloads: HASH_BUF bytes of xorshift64* output
 * (little-endian words) from HASH_SEED, identical natively and in the guest. */
#define HASH_BUF  (64 * KIB)
#define HASH_SEED 0x9e3779b97f4a7c15ull

static void fill_random(void *buf, size_t bytes, uint64_t seed)
{
	uint64_t *w = buf;

	for (size_t i = 0; i < bytes / 8; i++)
		w[i] = rt_rand(&seed);
}

/* ------------------------------------------------------------ SHA-256 */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define SHA_S0(x) (ror32(x, 7) ^ ror32(x, 18) ^ ((x) >> 3))
#define SHA_S1(x) (ror32(x, 17) ^ ror32(x, 19) ^ ((x) >> 10))
/* One round on the working variables a..hh, given K[t] + W[t]. */
#define SHA_ROUND(kw)                                                                              \
	do {                                                                                       \
		uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +                   \
			      ((e & f) ^ (~e & g)) + (kw);                                         \
		uint32_t t2 =                                                                      \
		    (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));   \
		hh = g, g = f, f = e, e = d + t1;                                                  \
		d = c, c = b, b = a, a = t1 + t2;                                                  \
	} while (0)

/*
 * The message schedule is a 16-word ring updated inside the rounds (FIPS
 * 180-4 section 6.2.2 computed on the fly), unrolled 16 ways so every index
 * is a constant: GCC otherwise vectorizes a separate 48-word schedule loop
 * into 8-byte stores read back at odd offsets, which defeats store forwarding.
 */
static void sha256_blocks(uint32_t h[8], const uint8_t *p, size_t blocks)
{
	for (; blocks--; p += 64) {
		uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5],
				g = h[6], hh = h[7];

#pragma GCC unroll 16
		for (int j = 0; j < 16; j++) {
			w[j] = load_be32(p + 4 * j);
			SHA_ROUND(sha256_k[j] + w[j]);
		}
		for (int i = 16; i < 64; i += 16) {
#pragma GCC unroll 16
			for (int j = 0; j < 16; j++) {
				w[j] += SHA_S0(w[(j + 1) & 15]) + w[(j + 9) & 15] +
					SHA_S1(w[(j + 14) & 15]);
				SHA_ROUND(sha256_k[i + j] + w[j]);
			}
		}
		h[0] += a, h[1] += b, h[2] += c, h[3] += d;
		h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
	}
}

void cpu_sha256(const void *msg, size_t len, uint8_t digest[32])
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const uint8_t *p = msg;
	uint8_t tail[128];
	size_t full = len / 64, rest = len % 64, tail_len = rest < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;

	sha256_blocks(h, p, full);
	/* Padding: 0x80, zeros, then the bit length big-endian in the last 8 bytes. */
	for (size_t i = 0; i < tail_len; i++)
		tail[i] = i < rest ? p[full * 64 + i] : 0;
	tail[rest] = 0x80;
	for (int i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha256_blocks(h, tail, tail_len / 64);
	for (int i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)(h[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
		digest[4 * i + 3] = (uint8_t)h[i];
	}
}

static bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Digests of "abc" (FIPS 180-4 example) and of the HASH_BUF benchmark buffer
 * (computed independently, with Python's hashlib). */
static const uint8_t sha256_abc[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};
static const uint8_t sha256_buf[32] = {
    0x34, 0x5f, 0xc5, 0x24, 0x4e, 0xdf, 0xe2, 0xc4, 0x55, 0x57, 0xbd, 0xe7, 0x0a, 0xf4, 0x0b, 0xc6,
    0x70, 0xa1, 0x1c, 0xe4, 0xd3, 0x21, 0x0b, 0x93, 0x7b, 0xc1, 0x3b, 0xce, 0xcb, 0x09, 0x77, 0x42,
};

static int setup_sha256(struct hvb_ctx *c, const char **why)
{
	uint8_t d[32];
	void *buf;

	cpu_sha256("abc", 3, d);
	if (!bytes_equal(d, sha256_abc, 32)) {
		*why = "self-check failed: SHA-256(\"abc\") is wrong (miscompiled?)";
		return -1;
	}
	buf = rt_alloc(HASH_BUF, 4096);
	if (!buf) {
		*why = "out of memory for the 64 KiB buffer";
		return -1;
	}
	fill_random(buf, HASH_BUF, HASH_SEED);
	cpu_sha256(buf, HASH_BUF, d);
	if (!bytes_equal(d, sha256_buf, 32)) {
		rt_free(buf, HASH_BUF);
		*why = "self-check failed: SHA-256 of the benchmark buffer is wrong";
		return -1;
	}
	c->priv = buf;
	return 0;
}

static void run_sha256(struct hvb_ctx *c, uint64_t n)
{
	uint8_t d[32];

	for (uint64_t i = 0; i < n; i++) {
		cpu_sha256(c->priv, HASH_BUF, d);
		rt_keep(d[0]);
	}
}

static void teardown_hash(struct hvb_ctx *c)
{
	rt_free(c->priv, HASH_BUF);
}

static const struct hvb_workload w_sha256 = {
    .name = "cpu/sha256",
    .desc = "SHA-256 of a 64 KiB buffer (scalar integer code, no SHA extensions)",
    .kind = HVB_KIND_BANDWIDTH,
    .bytes_per_op = HASH_BUF,
    .setup = setup_sha256,
    .run = run_sha256,
    .teardown = teardown_hash,
    .smp = true,
};
HVB_WORKLOAD(w_sha256);

/* ------------------------------------------------------------ CRC-32C */

#define CRC32C_POLY	 0x82f63b78u /* Castagnoli, bit-reflected */
#define CRC32C_BUF_VALUE 0x91819048u /* of the HASH_BUF buffer (computed with Python) */

static uint32_t crc_table[8][256];
/* crc32c.passes: 1 but where a test injects a known slowdown. */
static uint64_t crc32c_passes = 1;

void cpu_crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t crc = i;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ CRC32C_POLY : crc >> 1;
		crc_table[0][i] = crc;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_table[t][i] =
			    (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t cpu_crc32c_bytewise(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0u;

	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

/* Written out so GCC merges it into one 8-byte load (no alignment needed). */
static inline uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

uint32_t cpu_crc32c(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0u;

	/* Slicing-by-8: eight independent table lookups per 8 bytes. */
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t x = load_le64(p) ^ crc;
		crc = crc_table[7][x & 0xff] ^ crc_table[6][(x >> 8) & 0xff] ^
		      crc_table[5][(x >> 16) & 0xff] ^ crc_table[4][(x >> 24) & 0xff] ^
		      crc_table[3][(x >> 32) & 0xff] ^ crc_table[2][(x >> 40) & 0xff] ^
		      crc_table[1][(x >> 48) & 0xff] ^ crc_table[0][x >> 56];
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

static int setup_crc32c(struct hvb_ctx *c, const char **why)
{
	void *buf;

	cpu_crc32c_init();
	/* The CRC-32C check value (RFC 3720 / the Rocksoft catalogue). */
	if (cpu_crc32c("123456789", 9) != 0xe3069283u) {
		*why = "self-check failed: CRC-32C(\"123456789\") != 0xe3069283";
		return -1;
	}
	buf = rt_alloc(HASH_BUF, 4096);
	if (!buf) {
		*why = "out of memory for the 64 KiB buffer";
		return -1;
	}
	fill_random(buf, HASH_BUF, HASH_SEED);
	if (cpu_crc32c(buf, HASH_BUF) != CRC32C_BUF_VALUE ||
	    cpu_crc32c_bytewise(buf, HASH_BUF) != CRC32C_BUF_VALUE) {
		rt_free(buf, HASH_BUF);
		*why = "self-check failed: CRC-32C of the benchmark buffer is wrong";
		return -1;
	}
	c->priv = buf;
	crc32c_passes = rt_param(c, "passes");
	return 0;
}

static void run_crc32c(struct hvb_ctx *c, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t k = 0; k < crc32c_passes; k++)
			rt_keep(cpu_crc32c(c->priv, HASH_BUF));
}

static const struct hvb_workload w_crc32c = {
    .name = "cpu/crc32c",
    .desc = "CRC-32C of a 64 KiB buffer (software slicing-by-8, no crc32 instruction)",
    .kind = HVB_KIND_BANDWIDTH,
    .bytes_per_op = HASH_BUF,
    .setup = setup_crc32c,
    .run = run_crc32c,
    .teardown = teardown_hash,
    .smp = true,
    .params = {
	{ "passes", 1, 1, 100, "passes",
	  "test hook: checksum the buffer this many times per operation, a slowdown of that "
	  "factor (the CI templates' test injects a regression with it)" },
    },
};
HVB_WORKLOAD(w_crc32c);

/* ------------------------------------------------------------ matmul */

/* GCC vector extensions: 4 doubles = one AVX2 register; a*b+c contracts to
 * vfmadd (GNU C default -ffp-contract=fast).  The unaligned type loads rows
 * of C and panels of B that need only 8-byte alignment (same speed when
 * aligned, which they are in the benchmark). */
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));

#define MM_N  256
#define MM_MR 4 /* rows of a C register tile */
#define MM_NR 8 /* columns: two v4d */

/*
 * B is repacked into n/8 column panels, each n rows of 8 contiguous doubles,
 * so the inner loop streams one 16 KiB panel (for n = 256) from L1 while a
 * 4x8 tile of C lives in eight ymm accumulators: per k, two loads of B,
 * four broadcasts of A and eight independent FMAs.
 */
static void pack_b(const double *b, double *pack, unsigned n)
{
	for (unsigned j0 = 0; j0 < n; j0 += MM_NR)
		for (unsigned k = 0; k < n; k++)
			for (unsigned jj = 0; jj < MM_NR; jj++)
				*pack++ = b[(size_t)k * n + j0 + jj];
}

static void tile_4x8(const double *a, const double *panel, double *c, unsigned n)
{
	v4d c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0};
	v4d c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
	const double *a0 = a, *a1 = a + n, *a2 = a + 2 * n, *a3 = a + 3 * n;

	for (unsigned k = 0; k < n; k++, panel += MM_NR) {
		v4d b0 = *(const v4du *)panel, b1 = *(const v4du *)(panel + 4);
		v4d x;

		x = (v4d){a0[k], a0[k], a0[k], a0[k]};
		c00 += x * b0, c01 += x * b1;
		x = (v4d){a1[k], a1[k], a1[k], a1[k]};
		c10 += x * b0, c11 += x * b1;
		x = (v4d){a2[k], a2[k], a2[k], a2[k]};
		c20 += x * b0, c21 += x * b1;
		x = (v4d){a3[k], a3[k], a3[k], a3[k]};
		c30 += x * b0, c31 += x * b1;
	}
	*(v4du *)c = c00, *(v4du *)(c + 4) = c01;
	*(v4du *)(c + n) = c10, *(v4du *)(c + n + 4) = c11;
	*(v4du *)(c + 2 * n) = c20, *(v4du *)(c + 2 * n + 4) = c21;
	*(v4du *)(c + 3 * n) = c30, *(v4du *)(c + 3 * n + 4) = c31;
}

void cpu_matmul(const double *a, const double *b, double *c, unsigned n, double *pack)
{
	pack_b(b, pack, n);
	/* Panel-outer: each B panel is reused from L1 by every row tile of A. */
	for (unsigned j0 = 0; j0 < n; j0 += MM_NR)
		for (unsigned i0 = 0; i0 < n; i0 += MM_MR)
			tile_4x8(a + (size_t)i0 * n, pack + (size_t)j0 * n, c + (size_t)i0 * n + j0,
				 n);
}

void cpu_matmul_naive(const double *a, const double *b, double *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < n; j++) {
			double s = 0;
			for (unsigned k = 0; k < n; k++)
				s += a[(size_t)i * n + k] * b[(size_t)k * n + j];
			c[(size_t)i * n + j] = s;
		}
}

struct matmul {
	double *a, *b, *c, *pack;
};

#define MM_BYTES ((size_t)MM_N * MM_N * sizeof(double))

static void matmul_free(struct matmul *m)
{
	rt_free(m->a, MM_BYTES), rt_free(m->b, MM_BYTES);
	rt_free(m->c, MM_BYTES), rt_free(m->pack, MM_BYTES);
	rt_free(m, sizeof(*m));
}

/*
 * Inputs are small integers (-4..4): every product and partial sum is exact
 * in a double whatever the summation order, so the blocked FMA result must
 * equal the naive one bit for bit.  Speed does not depend on the values.
 */
static int setup_matmul(struct hvb_ctx *c, const char **why)
{
	struct matmul *m = rt_alloc(sizeof(*m), 64);
	uint64_t seed = HASH_SEED;

	if (!m || !(m->a = rt_alloc(MM_BYTES, 4096)) || !(m->b = rt_alloc(MM_BYTES, 4096)) ||
	    !(m->c = rt_alloc(MM_BYTES, 4096)) || !(m->pack = rt_alloc(MM_BYTES, 4096))) {
		if (m)
			matmul_free(m);
		*why = "out of memory for 4 x 512 KiB matrices";
		return -1;
	}
	for (size_t i = 0; i < (size_t)MM_N * MM_N; i++) {
		m->a[i] = (double)(int)(rt_rand(&seed) % 9) - 4;
		m->b[i] = (double)(int)(rt_rand(&seed) % 9) - 4;
	}
	cpu_matmul(m->a, m->b, m->c, MM_N, m->pack);
	/* The reference goes into pack: run() repacks B on every op anyway. */
	cpu_matmul_naive(m->a, m->b, m->pack, MM_N);
	for (size_t i = 0; i < (size_t)MM_N * MM_N; i++)
		if (m->c[i] != m->pack[i]) {
			matmul_free(m);
			*why = "self-check failed: blocked matmul differs from the naive product";
			return -1;
		}
	c->priv = m;
	return 0;
}

static void run_matmul(struct hvb_ctx *c, uint64_t n)
{
	struct matmul *m = c->priv;

	for (uint64_t i = 0; i < n; i++) {
		cpu_matmul(m->a, m->b, m->c, MM_N, m->pack);
		rt_keep(m->c);
	}
}

static void teardown_matmul(struct hvb_ctx *c)
{
	matmul_free(c->priv);
}

static const struct hvb_workload w_matmul = {
    .name = "cpu/matmul",
    .desc = "C = A*B, 256x256 doubles, AVX2 FMA 4x8 register tiles (one op = 2*256^3 flop)",
    .kind = HVB_KIND_RATE,
    .note = "one op = one 256x256 DGEMM = 33.554432 Mflop: GFLOP/s = ops/s * 0.033554432",
    .setup = setup_matmul,
    .run = run_matmul,
    .teardown = teardown_matmul,
    .smp = true,
};
HVB_WORKLOAD(w_matmul);

/* ------------------------------------------------------------ sort */

static void insertion_sort(uint32_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void sift_down(uint32_t *v, size_t root, size_t n)
{
	uint32_t x = v[root];

	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && v[child + 1] > v[child])
			child++;
		if (v[child] <= x)
			break;
		v[root] = v[child];
	}
	v[root] = x;
}

static void heap_sort(uint32_t *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		uint32_t t = v[0];
		v[0] = v[end], v[end] = t;
		sift_down(v, 0, end);
	}
}

static inline void swap_u32(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;
	*a = *b, *b = t;
}

static void intro_sort(uint32_t *v, size_t n, unsigned depth)
{
	while (n > 16) {
		size_t mid = n / 2, i, j;
		uint32_t pivot;

		if (!depth--) {
			heap_sort(v, n);
			return;
		}
		/* Median of three into v[mid]; v[0] <= pivot <= v[n-1] bound the scans. */
		if (v[mid] < v[0])
			swap_u32(&v[mid], &v[0]);
		if (v[n - 1] < v[mid]) {
			swap_u32(&v[n - 1], &v[mid]);
			if (v[mid] < v[0])
				swap_u32(&v[mid], &v[0]);
		}
		pivot = v[mid];
		/* Hoare partition: data-dependent branches, the point of this workload. */
		for (i = 0, j = n - 1;;) {
			while (v[++i] < pivot)
				;
			while (pivot < v[--j])
				;
			if (i >= j)
				break;
			swap_u32(&v[i], &v[j]);
		}
		/* Recurse into the smaller side, loop on the larger: O(log n) stack. */
		if (i < n - i) {
			intro_sort(v, i, depth);
			v += i, n -= i;
		} else {
			intro_sort(v + i, n - i, depth);
			n = i;
		}
	}
	insertion_sort(v, n);
}

void cpu_sort_u32(uint32_t *v, size_t n)
{
	unsigned depth = 0;

	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	intro_sort(v, n, depth);
}

#define SORT_KEYS    (64 * KIB)
#define SORT_BYTES   (SORT_KEYS * sizeof(uint32_t))
#define SORT_MAX_OPS 64 /* keys regenerated per batch: 64 x 256 KiB = 16 MiB */

struct sort {
	uint32_t *keys; /* SORT_MAX_OPS arrays of SORT_KEYS */
	uint64_t seed;
};

static bool sorted_permutation(const uint32_t *v, size_t n, uint64_t sum, uint64_t xsum)
{
	uint64_t s = 0, x = 0;

	for (size_t i = 0; i < n; i++) {
		if (i && v[i - 1] > v[i])
			return false;
		s += v[i], x += (uint64_t)v[i] * v[i];
	}
	return s == sum && x == xsum; /* same multiset, with high probability */
}

static void sort_fill(struct sort *s, uint64_t arrays)
{
	for (size_t i = 0; i < arrays * SORT_KEYS; i++)
		s->keys[i] = (uint32_t)(rt_rand(&s->seed) >> 32);
}

static int setup_sort(struct hvb_ctx *c, const char **why)
{
	struct sort *s = rt_alloc(sizeof(*s), 64);
	uint64_t sum = 0, xsum = 0;

	if (!s || !(s->keys = rt_alloc(SORT_MAX_OPS * SORT_BYTES, 4096))) {
		rt_free(s, sizeof(*s));
		*why = "out of memory for 16 MiB of sort keys";
		return -1;
	}
	s->seed = HASH_SEED;
	sort_fill(s, 1);
	for (size_t i = 0; i < SORT_KEYS; i++)
		sum += s->keys[i], xsum += (uint64_t)s->keys[i] * s->keys[i];
	cpu_sort_u32(s->keys, SORT_KEYS);
	if (!sorted_permutation(s->keys, SORT_KEYS, sum, xsum)) {
		rt_free(s->keys, SORT_MAX_OPS * SORT_BYTES);
		rt_free(s, sizeof(*s));
		*why = "self-check failed: sort output is not a sorted permutation of its input";
		return -1;
	}
	c->priv = s;
	return 0;
}

/* Fresh keys for every op of the batch, generated outside the timed region. */
static void sort_before(struct hvb_ctx *c, uint64_t n)
{
	sort_fill(c->priv, n);
}

static void run_sort(struct hvb_ctx *c, uint64_t n)
{
	struct sort *s = c->priv;

	for (uint64_t i = 0; i < n; i++)
		cpu_sort_u32(s->keys + i * SORT_KEYS, SORT_KEYS);
	rt_keep(s->keys[0]);
}

static void teardown_sort(struct hvb_ctx *c)
{
	struct sort *s = c->priv;

	rt_free(s->keys, SORT_MAX_OPS * SORT_BYTES);
	rt_free(s, sizeof(*s));
}

static const struct hvb_workload w_sort = {
    .name = "cpu/sort",
    .desc = "introsort of 64 Ki random 32-bit keys (keys regenerated untimed before each batch)",
    .setup = setup_sort,
    .before_batch = sort_before,
    .run = run_sort,
    .teardown = teardown_sort,
    .max_ops = SORT_MAX_OPS,
    .smp = true,
};
HVB_WORKLOAD(w_sort);
