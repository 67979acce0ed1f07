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

static int emit_fd = -1;
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

void *rt_alloc(size_t bytes, size_t align)
{
	void *p;

	(void)align; /* mmap gives page alignment; larger requests get 2 MiB via over-allocation */
	if (align > 4096) {
		size_t total = bytes + align;
		char *raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		uintptr_t a;
		if (raw == MAP_FAILED)
			return NULL;
		a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
		if (a > (uintptr_t)raw)
			munmap(raw, a - (uintptr_t)raw);
		if ((uintptr_t)raw + total > a + bytes)
			munmap((void *)(a + bytes), (uintptr_t)raw + total - a - bytes);
		return (void *)a;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void rt_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

void *rt_fresh_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* One fault per 4 KiB page, like an EPT fault per page in a guest
	 * without huge pages; THP would fault 2 MiB at a time. */
	madvise(p, bytes, MADV_NOHUGEPAGE);
	return p;
}

void rt_fresh_release(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
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
