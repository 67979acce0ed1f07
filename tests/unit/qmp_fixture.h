/*
 * A recorded QMP reply of tests/fixtures/qmp/ (its README says how each
 * was recorded), found next to this source file: for the QMP tests
 * (test_qmp.c, test_qemu_migrate.c).
 */
#ifndef HVB_TESTS_QMP_FIXTURE_H
#define HVB_TESTS_QMP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file's text (malloc'ed, NUL-terminated), or NULL. */
static inline char *qmp_fixture(const char *name)
{
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%.*stests/fixtures/qmp/%s", (int)(cut ? cut - src : 0), src,
		 name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

#endif
