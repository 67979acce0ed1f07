/*
 * cpu/: the pure kernels behind the cpu/ workloads, exposed so unit tests can
 * check them on small inputs.  Freestanding: no libc, no allocation.
 */
#ifndef HVB_CPU_H
#define HVB_CPU_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4) of len bytes at msg into digest[32]. */
void cpu_sha256(const void *msg, size_t len, uint8_t digest[32]);

/* CRC-32C (Castagnoli, reflected 0x82f63b78, init and final xor ~0) of len
 * bytes, in software with slicing-by-8 tables; cpu_crc32c_init() must have
 * been called once.  cpu_crc32c_bytewise() is the one-table reference. */
void cpu_crc32c_init(void);
uint32_t cpu_crc32c(const void *buf, size_t len);
uint32_t cpu_crc32c_bytewise(const void *buf, size_t len);

/* C = A * B for n x n row-major doubles, n a multiple of CPU_MATMUL_STEP.
 * pack holds n * n doubles of scratch (B repacked into column panels).
 * cpu_matmul_naive() is the textbook triple loop used as the reference. */
#define CPU_MATMUL_STEP 8
void cpu_matmul(const double *a, const double *b, double *c, unsigned n, double *pack);
void cpu_matmul_naive(const double *a, const double *b, double *c, unsigned n);

/* Sort n 32-bit keys ascending in place (introsort: quicksort with median of
 * three, insertion sort below 16 keys, heapsort past 2*log2(n) levels). */
void cpu_sort_u32(uint32_t *v, size_t n);

#endif
