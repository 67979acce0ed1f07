/*
 * The guest's Xen PV console ring writer (workloads/rt/xen.h,
 * xen_ring_put): empty, partly full and full rings, wrap-around of the
 * ring and of the free-running 32-bit indexes, broken indexes, and a long
 * stream through a consumer that takes odd amounts, checked byte for byte.
 */
#include <string.h>

#include "rt/xen.h"
#include "tap.h"

#define SIZE XENCONS_OUT_SIZE

static char ring[SIZE];

static void test_empty(void)
{
	uint32_t prod = 0;

	memset(ring, '.', sizeof(ring));
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 0, &prod, "hello", 5), 5,
		   "empty ring takes 5 bytes");
	TAP_EQ_INT(prod, 5, "producer index advanced by 5");
	TAP_OK(!memcmp(ring, "hello.", 6), "bytes at the start, nothing beyond");
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 0, &prod, "x", 0), 0, "nothing to write: 0");
	TAP_EQ_INT(prod, 5, "... and the index stays");
}

static void test_full(void)
{
	uint32_t prod = SIZE;

	memset(ring, 'o', sizeof(ring));
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 0, &prod, "new", 3), 0, "full ring takes nothing");
	TAP_EQ_INT(prod, SIZE, "full ring: index unchanged");
	TAP_EQ_INT(ring[0], 'o', "full ring: unconsumed byte not overwritten");

	prod = SIZE - 8;
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 0, &prod, "0123456789abcdef", 16), 8,
		   "8 free bytes: 8 of 16 taken");
	TAP_EQ_INT(prod, SIZE, "... and the ring is full");
	TAP_OK(!memcmp(ring + SIZE - 8, "01234567", 8) && ring[0] == 'o',
	       "partial write fills the end only");
}

static void test_wrap(void)
{
	uint32_t prod = SIZE - 4;

	memset(ring, '.', sizeof(ring));
	TAP_EQ_INT(xen_ring_put(ring, SIZE, SIZE - 4, &prod, "ABCDEFGH", 8), 8,
		   "write across the end of the ring");
	TAP_OK(!memcmp(ring + SIZE - 4, "ABCD", 4) && !memcmp(ring, "EFGH.", 5),
	       "wrapped bytes continue at offset 0");

	/* Free-running indexes wrap at 2^32 (Xen's rings never reset them). */
	prod = 0xfffffffcu;
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 0xfffffff0u, &prod, "12345678", 8), 8,
		   "indexes across 2^32");
	TAP_EQ_INT(prod, 4, "producer index wrapped to 4");
	TAP_OK(!memcmp(ring + SIZE - 4, "1234", 4) && !memcmp(ring, "5678", 4),
	       "bytes land at index mod size");
	prod = 0xfffffff0u + SIZE;
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 0xfffffff0u, &prod, "z", 1), 0,
		   "full ring across 2^32 takes nothing");
}

static void test_broken(void)
{
	uint32_t prod = 5000;

	memset(ring, 'k', sizeof(ring));
	TAP_EQ_INT(xen_ring_put(ring, SIZE, 100, &prod, "junk", 4), 0,
		   "indexes claiming more than the ring: nothing written");
	TAP_EQ_INT(prod, 5000, "... and the index is left alone");
	TAP_EQ_INT(ring[5000 % SIZE], 'k', "... and no byte changed");
}

/* A producer and a consumer taking odd amounts: the stream arrives intact. */
static void test_stream(void)
{
	static char src[200000], dst[sizeof(src)];
	uint32_t prod = 0xffff0000u, cons = prod, rnd = 12345;
	size_t sent = 0, got = 0, stalls = 0;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + (i >> 9));
	while (got < sizeof(src)) {
		size_t want = (rnd = rnd * 1103515245u + 12345u) >> 20 & 1023, take;

		if (sent < sizeof(src)) {
			size_t n =
			    xen_ring_put(ring, SIZE, cons, &prod, src + sent,
					     want < sizeof(src) - sent ? want : sizeof(src) - sent);
			stalls += want && !n;
			sent += n;
		}
		take = (rnd = rnd * 1103515245u + 12345u) >> 21 & 511;
		for (; take && cons != prod; take--, cons++)
			dst[got++] = ring[cons & (SIZE - 1)];
		if (prod - cons > SIZE)
			break;
	}
	TAP_EQ_INT(got, sizeof(src), "stream of 200000 bytes fully received");
	TAP_OK(!memcmp(src, dst, sizeof(src)), "stream received in order, byte for byte");
	TAP_OK(stalls > 0, "the stream did fill the ring at times (full path exercised)");
}

int main(void)
{
	test_empty();
	test_full();
	test_wrap();
	test_broken();
	test_stream();
	return tap_done();
}
