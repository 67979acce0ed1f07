/*
 * Shared by the fuzz harnesses (tests/fuzz/fuzz_*.c) and the seed generator
 * (mkseeds.c): header-only.
 *
 * A harness fails with FUZZ_CHECK when a property of the code under test
 * does not hold (an error without a message, a result that breaks the
 * parser's own contract, two ways of parsing that disagree): libFuzzer then
 * keeps the input as a crash, as it does for a sanitizer report.
 */
#ifndef HVB_FUZZ_H
#define HVB_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Written to fd 2 directly: some harnesses silence stdio's stderr. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			dprintf(2, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* s is a NUL-terminated string within n bytes. */
static inline bool fuzz_terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

#endif
