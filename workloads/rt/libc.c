/*
 * The few C library functions the compiler may call on its own (struct
 * copies, initialisation) in freestanding code: the workloads and the
 * harness are built with -O2 and can emit calls to these.  rep movsb/stosb
 * are fast on every CPU with ERMS and touch no vector state.
 */
#include <stddef.h>
#include <stdint.h>

#include "rt.h"

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	/* Overlap with the destination above: copy backwards. */
	dp += n - 1;
	sp += n - 1;
	__asm__ volatile("std; rep movsb; cld" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory");
	return d;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

/* Text builders for diagnostics (fault reports, logs) that must not touch
 * the harness or vector state: each appends to [p, end) and returns the new
 * end, truncating silently. */
char *rt_put_str(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *put_digits(char *p, char *end, const char *buf, int n)
{
	while (n && p < end)
		*p++ = buf[--n];
	return p;
}

char *rt_put_dec(char *p, char *end, uint64_t v)
{
	char buf[20];
	int i = 0;

	do
		buf[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < 20);
	return put_digits(p, end, buf, i);
}

char *rt_put_hex(char *p, char *end, uint64_t v)
{
	char buf[16];
	int i = 0;

	p = rt_put_str(p, end, "0x");
	do
		buf[i++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) && i < 16);
	return put_digits(p, end, buf, i);
}
