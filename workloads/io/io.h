/* io/ internals exposed for the unit tests (tests/unit/test_io.c). */
#ifndef HVB_IO_H
#define HVB_IO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The first sector of the next request of an io/ workload: a random one of
 * `positions` request-aligned positions (rt_rand(rng) % positions) or, if
 * sequential, position *next (then *next + 1, wrapping to 0), times the
 * request's sectors.  ci/bench/fio-crosscheck computes the same offsets.
 */
uint64_t io_next_sector(uint64_t *rng, uint64_t *next, uint64_t positions, uint32_t bytes,
			bool sequential);

#endif
