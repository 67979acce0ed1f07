/*
 * mem/: the pure kernels behind the mem/ workloads, exposed so unit tests can
 * check them on small arrays.  Freestanding: no libc, no allocation.
 */
#ifndef HVB_MEM_H
#define HVB_MEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * STREAM kernels (McCalpin's definitions) over n doubles, n a multiple of
 * MEM_STREAM_STEP, every array 32-byte aligned:
 *   copy  c[i] = a[i]            scale b[i] = q * c[i]
 *   add   c[i] = a[i] + b[i]     triad a[i] = b[i] + q * c[i]
 */
#define MEM_STREAM_STEP 8
void mem_stream_copy(double *c, const double *a, size_t n);
void mem_stream_scale(double *b, const double *c, double q, size_t n);
void mem_stream_add(double *c, const double *a, const double *b, size_t n);
void mem_stream_triad(double *a, const double *b, const double *c, double q, size_t n);

/* One cache line: the pointer to the next node, padding to 64 bytes. */
struct mem_chase_node {
	struct mem_chase_node *next;
	uint64_t pad[7];
};

/*
 * Link nodes[0..count) into one random cycle through all of them (Sattolo's
 * algorithm: a uniformly random cyclic permutation), seeded with `seed`.
 * count >= 1; with count == 1 the node points to itself.
 */
void mem_chase_build(struct mem_chase_node *nodes, size_t count, uint64_t seed);

/* Follow n next pointers from p (n dependent loads); returns where it ends. */
struct mem_chase_node *mem_chase_run(struct mem_chase_node *p, uint64_t n);

#endif
