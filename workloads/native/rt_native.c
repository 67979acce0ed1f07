/*
 * The rt_* API hosted on Linux, for the native runner's child process.
 * Compiled as host code (it uses libc); the harness and the workload bodies
 * it serves are the same objects that go into the guest image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"
#include "rt_native.h"

#define HUGE	 (2ul << 20)
#define HUGE_KIB 2048u

static int emit_fd = -1;
static unsigned page_kib = 4; /* --page-size, set by the native runner */
static void (*rep_hook)(const struct hvb_record *rec, bool written);

void rt_native_set_fd(int fd)
{
	emit_fd = fd;
}

void rt_native_set_rep_hook(void (*hook)(const struct hvb_record *rec, bool written))
{
	rep_hook = hook;
}

void rt_emit(const struct hvb_record *rec)
{
	const char *p = (const char *)rec;
	size_t left = sizeof(*rec);
	bool rep = rep_hook && (rec->type == HVB_REC_REP_BEGIN || rec->type == HVB_REC_REP_END);

	if (rep)
		rep_hook(rec, false);
	while (left) {
		ssize_t n = write(emit_fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(HVB_EXIT_PANIC); /* the parent is gone: nothing to report to */
		p += n;
		left -= (size_t)n;
	}
	if (rep)
		rep_hook(rec, true);
}

void rt_native_set_page_kib(unsigned kib)
{
	page_kib = kib;
}

/* With 2 MiB pages every buffer is a whole number of 2 MiB-aligned huge
 * pages, as in a guest with 2 MiB page tables (THP needs that alignment). */
static size_t map_align(size_t align)
{
	return page_kib == HUGE_KIB && align < HUGE ? HUGE : align;
}

static size_t map_bytes(size_t bytes)
{
	return page_kib == HUGE_KIB ? (bytes + HUGE - 1) & ~(HUGE - 1) : bytes;
}

/* Anonymous memory aligned to `align`, with the page size asked for:
 * MADV_NOHUGEPAGE (4 KiB even under THP "always") or MADV_HUGEPAGE. */
static void *map_anon(size_t bytes, size_t align, int extra_flags)
{
	size_t total = bytes + (align > 4096 ? align : 0);
	char *raw = mmap(NULL, total, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
	uintptr_t a;

	if (raw == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)raw)
		munmap(raw, a - (uintptr_t)raw);
	if ((uintptr_t)raw + total > a + bytes)
		munmap((void *)(a + bytes), (uintptr_t)raw + total - a - bytes);
	madvise((void *)a, bytes, page_kib == HUGE_KIB ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return (void *)a;
}

void *rt_alloc(size_t bytes, size_t align)
{
	return map_anon(map_bytes(bytes), map_align(align), 0);
}

void rt_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, map_bytes(bytes));
}

void *rt_fresh_alloc(size_t bytes)
{
	/* 4 KiB: one fault per page, like an EPT fault per page in a guest
	 * without huge backing; 2 MiB: THP faults a huge page at a time. */
	return map_anon(map_bytes(bytes), map_align(4096), MAP_NORESERVE);
}

void rt_fresh_release(void *p, size_t bytes)
{
	rt_free(p, bytes);
}

/* The host's THP mode: the bracketed word of .../enabled, or "unknown". */
static void thp_mode(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "", *a, *b;

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (a = strchr(line, '[')) && (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(buf, len, "%s", a + 1);
	}
	fclose(f);
}

/* Sum AnonHugePages and Rss (kB) of the mappings overlapping [lo, hi) in
 * /proc/self/smaps; -errno if it cannot be read. */
static int smaps_huge(uintptr_t lo, uintptr_t hi, unsigned long *huge_kb, unsigned long *rss_kb)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;
	unsigned long s, e, v;

	if (!f)
		return -errno;
	*huge_kb = *rss_kb = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s < hi && e > lo;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &v) == 1)
			*huge_kb += v;
		else if (in && sscanf(line, "Rss: %lu kB", &v) == 1)
			*rss_kb += v;
	}
	fclose(f);
	return 0;
}

const char *rt_mem_page_note(const void *p, size_t bytes)
{
	static char note[HVB_TEXT_MAX];
	unsigned long huge, rss;
	char thp[32];
	int r = smaps_huge((uintptr_t)p, (uintptr_t)p + map_bytes(bytes), &huge, &rss);

	if (r) {
		snprintf(note, sizeof(note), "native pages unknown: /proc/self/smaps: %s",
			 strerror(-r));
		return note;
	}
	thp_mode(thp, sizeof(thp));
	if (page_kib != HUGE_KIB)
		snprintf(note, sizeof(note), "native 4 KiB pages (smaps: %lu of %lu kB huge)", huge,
			 rss);
	else if (!strcmp(thp, "never"))
		snprintf(note, sizeof(note),
			 "native 4 KiB: 2m asked, host THP is 'never' (%lu of %lu kB huge)", huge,
			 rss);
	else
		snprintf(note, sizeof(note), "native 2m asked, THP %s: %lu of %lu kB huge (smaps)",
			 thp, huge, rss);
	return note;
}

uint64_t rt_mem_available(void)
{
	long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

/* The native analogue of a null hypercall / guest syscall: a raw getppid. */
static long raw_getppid(void)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_getppid)
			 : "rcx", "r11", "memory");
	return ret;
}

long rt_hypercall_null(void)
{
	return raw_getppid();
}

long rt_syscall_null(void)
{
	return raw_getppid();
}

long rt_gate_null(void)
{
	abort(); /* micro/gate is skipped natively: there is no guest ring 0 */
}

const char *rt_hypercall_note(void)
{
	return NULL; /* micro/hypercall sets its native note itself */
}

int rt_halt_prepare(const char **note, const char **why)
{
	(void)note;
	*why = "hlt needs ring 0 (guest kernel); not measured natively";
	return -38; /* valid() skips micro/hlt-wake natively before this */
}

uint64_t rt_msr_read(uint32_t msr)
{
	(void)msr;
	abort(); /* valid() requires HVB_CAP_MSR, never granted natively */
}

void rt_msr_write(uint32_t msr, uint64_t v)
{
	(void)msr, (void)v;
	abort();
}

void rt_halt_wake(void)
{
	abort(); /* HVB_CAP_HLT is never granted natively */
}

volatile void *rt_mmio(uint64_t gpa)
{
	(void)gpa;
	return NULL;
}

/* Nothing to take part in: a process is not migrated. */
void rt_migrate_enable(void)
{
}

void rt_migrate_point(void)
{
}
