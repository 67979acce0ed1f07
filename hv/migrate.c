/*
 * Pre-copy migration: the sender's rounds, stop-and-copy and the
 * receiver (migrate.h).
 */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "migrate_stream.h"
#include "vcpu_state.h"
#include "watchdog.h"

#define PAGE 4096ull

_Static_assert(HV_MIG_MAX_PAYLOAD >= HV_STATE_XSAVE_MAX, "a vCPU part fits a section");
_Static_assert(HV_MAX_VCPUS_STREAM == HV_MAX_VCPUS, "stream and core agree on vCPUs");
_Static_assert(HV_MAX_MEM_STREAM == HV_MAX_MEM_REGIONS, "stream and core agree on regions");

/* ------------------------------------------------------------ sender */

struct sender {
	struct vm *vm;
	int fd;
	const struct hv_mig_opts *o;
	struct hv_mig_stats *st;
	struct hv_dirty dirty;
	uint8_t *buf;	      /* one section's payload */
	double tokens;	      /* token bucket, bytes */
	uint64_t bucket_ns;   /* its last refill */
	unsigned round;
	char *why;
	size_t len;
};

/* The token bucket: wait until n bytes may go at o->bandwidth.  A burst of
 * at most 10 ms of the rate (and one section) so the limit holds at any
 * scale of measurement above that. */
static void bucket_take(struct sender *s, uint64_t n)
{
	uint64_t rate = s->o->bandwidth, now = hv_now_ns();
	double burst;

	if (!rate)
		return;
	burst = (double)rate / 100 > (double)HV_MIG_MAX_PAYLOAD ? (double)rate / 100
								 : (double)HV_MIG_MAX_PAYLOAD;
	s->tokens += (double)(now - s->bucket_ns) * (double)rate / 1e9;
	if (s->tokens > burst)
		s->tokens = burst;
	s->bucket_ns = now;
	if (s->tokens < (double)n) {
		double wait_ns = ((double)n - s->tokens) * 1e9 / (double)rate;
		struct timespec ts = {(time_t)(wait_ns / 1e9), (long)((uint64_t)wait_ns % 1000000000ull)};

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		s->tokens += wait_ns * (double)rate / 1e9;
		s->bucket_ns = hv_now_ns();
	}
	s->tokens -= (double)n;
}

static int write_all(struct sender *s, struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	bucket_take(s, total);
	while (n) {
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t k = sendmsg(s->fd, &m, MSG_NOSIGNAL);

		if (k < 0 && errno == ENOTSOCK)
			k = writev(s->fd, iov, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			snprintf(s->why, s->len,
				 "the migration stream broke in round %u after %llu bytes: %s%s",
				 s->round, (unsigned long long)s->st->bytes_sent, strerror(e),
				 e == EPIPE || e == ECONNRESET ? " (the destination went away)" : "");
			return e == ECONNRESET ? -EPIPE : -e;
		}
		s->st->bytes_sent += (uint64_t)k;
		while (n && (size_t)k >= iov->iov_len)
			k -= (ssize_t)iov->iov_len, iov++, n--;
		if (n)
			iov->iov_base = (uint8_t *)iov->iov_base + k, iov->iov_len -= (size_t)k;
	}
	return 0;
}

/* One section: head, payload (s->buf or p), sum. */
static int send_section(struct sender *s, uint32_t type, uint32_t arg, const void *p, size_t n)
{
	uint8_t head[HV_MIG_HEAD_SIZE];
	uint64_t sum;
	struct iovec iov[3];

	hv_mig_head_encode(head, type, arg, n);
	sum = hv_mig_sum(hv_mig_sum(HV_MIG_SUM_SEED, head, sizeof(head)), p, n);
	iov[0] = (struct iovec){head, sizeof(head)};
	iov[1] = (struct iovec){(void *)p, n};
	iov[2] = (struct iovec){&sum, sizeof(sum)};
	return write_all(s, iov, 3);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* A run of up to HV_MIG_RUN_PAGES pages gathered in s->buf (copied, so a
 * guest write meanwhile cannot break the section's sum: the page is dirty
 * again and goes in a later round). */
struct run {
	uint64_t gpa, pages; /* data run */
	uint64_t zgpa, zpages; /* zero run */
};

static int flush_zero(struct sender *s, struct run *r)
{
	uint64_t z[2] = {r->zgpa, r->zpages};

	if (!r->zpages)
		return 0;
	s->st->zero_pages += r->zpages;
	r->zpages = 0;
	return send_section(s, HV_SEC_ZERO, s->round, z, sizeof(z));
}

static int flush_data(struct sender *s, struct run *r)
{
	uint64_t n = r->pages;

	if (!n)
		return 0;
	memcpy(s->buf, &r->gpa, 8);
	s->st->pages_sent += n;
	r->pages = 0;
	return send_section(s, HV_SEC_PAGES, s->round, s->buf, 8 + n * PAGE);
}

/* Add the page at gpa (host copy at hva) to the runs, sending what ends. */
static int run_add(struct sender *s, struct run *r, uint64_t gpa, const uint8_t *hva)
{
	int e = 0;

	if (page_is_zero(hva)) {
		if (r->zpages && r->zgpa + r->zpages * PAGE == gpa)
			return r->zpages++, 0;
		if (!(e = flush_zero(s, r)))
			r->zgpa = gpa, r->zpages = 1;
		return e;
	}
	if (r->pages && (r->gpa + r->pages * PAGE != gpa || r->pages == HV_MIG_RUN_PAGES))
		e = flush_data(s, r);
	if (!e && !r->pages)
		r->gpa = gpa;
	if (!e)
		memcpy(s->buf + 8 + r->pages++ * PAGE, hva, PAGE);
	return e;
}

static int run_flush(struct sender *s, struct run *r)
{
	int e = flush_zero(s, r);

	return e ? e : flush_data(s, r);
}

static int send_all_ram(struct sender *s)
{
	struct run r = {0};
	int e = 0;

	for (unsigned i = 0; i < s->vm->n_mem && !e; i++) {
		const struct vm_mem_region *m = &s->vm->mem[i];
		for (uint64_t off = 0; off < m->size && !e; off += PAGE)
			e = run_add(s, &r, m->gpa + off, m->hva + off);
	}
	return e ? e : run_flush(s, &r);
}

static int send_dirty(struct sender *s, uint64_t *sent)
{
	struct run r = {0};
	uint64_t cursor = 0, gpa, n = 0;
	int e = 0;

	while (!e && hv_dirty_take(&s->dirty, &cursor, &gpa)) {
		e = run_add(s, &r, gpa, __vm_gpa_to_hva(s->vm, gpa));
		n++;
	}
	if (sent)
		*sent = n;
	return e ? e : run_flush(s, &r);
}

static int send_start(struct sender *s)
{
	struct hv_mig_header h = {.version = HV_MIG_VERSION, .n_vcpus = s->vm->n_vcpus,
				  .n_mem = s->vm->n_mem, .ram_size = s->vm->ram_size};
	uint8_t hb[HV_MIG_HEADER_SIZE];
	uint64_t layout[2 * HV_MAX_MEM_REGIONS];
	struct iovec iov = {hb, hv_mig_header_encode(hb, &h)};
	int e = write_all(s, &iov, 1);

	for (unsigned i = 0; i < s->vm->n_mem; i++)
		layout[2 * i] = s->vm->mem[i].gpa, layout[2 * i + 1] = s->vm->mem[i].size;
	return e ? e : send_section(s, HV_SEC_LAYOUT, 0, layout, s->vm->n_mem * 16ull);
}

static int send_vcpus(struct sender *s)
{
	struct hv_vcpu_state st;
	int e = 0;

	for (unsigned i = 0; i < s->vm->n_vcpus && !e; i++) {
		struct vcpu *v = s->vm->vcpus[i];

		if ((e = vcpu_state_settle(v)) || (e = vcpu_state_get(v, &st))) {
			snprintf(s->why, s->len, "vCPU %u: cannot read its state: %s", i,
				 strerror(-e));
			return e;
		}
		for (unsigned p = 0; p < HV_PARTS && !e; p++) {
			size_t n;
			const void *at = vcpu_state_part(&st, (enum hv_state_part)p, &n);
			if (at)
				e = send_section(s, HV_SEC_VCPU, i << 8 | p, at, n);
		}
		vcpu_state_free(&st);
	}
	return e;
}

/* Pre-copy rounds after round 0, until converged or the round limit. */
static int precopy(struct sender *s, uint64_t t_start)
{
	/* Round 0's bandwidth counts from the first byte. */
	uint64_t t_round = t_start, bytes_round = 0;
	int e;

	for (;;) {
		uint64_t now = hv_now_ns(), pending, bytes = s->st->bytes_sent - bytes_round;
		double predicted_ns;

		if ((e = hv_dirty_collect(&s->dirty))) {
			snprintf(s->why, s->len, "collecting dirty pages (%s) in round %u: %s",
				 hv_dirty_mode_name(s->o->mode), s->round, strerror(-e));
			return e;
		}
		pending = hv_dirty_pending(&s->dirty);
		s->st->dirty_pages += pending;
		s->st->precopy_ns = now - t_start;
		if (now > t_round && bytes)
			s->st->bandwidth = (double)bytes * 1e9 / (double)(now - t_round);
		predicted_ns = s->st->bandwidth > 0 ? (double)pending * (PAGE + 24) * 1e9 / s->st->bandwidth
						    : 0;
		if (s->o->on_round)
			s->o->on_round(s->o->arg, s->round, pending);
		s->round++;
		s->st->rounds = s->round;
		if (predicted_ns <= (double)s->o->downtime_ns) {
			s->st->converged = true;
			return 0;
		}
		if (s->round >= s->o->max_rounds)
			return 0; /* not converged: stop-and-copy all the same */
		t_round = hv_now_ns(), bytes_round = s->st->bytes_sent;
		if ((e = send_dirty(s, NULL)))
			return e;
		uint64_t left = hv_dirty_pending(&s->dirty);
		if ((e = send_section(s, HV_SEC_ROUND, s->round, &left, 8)))
			return e;
	}
}

/* The destination's one byte: its vCPUs are about to run. */
static int wait_resumed(struct sender *s)
{
	char c;
	ssize_t k;

	while ((k = read(s->fd, &c, 1)) < 0 && errno == EINTR)
		;
	if (k == 1 && c == 'R')
		return 0;
	snprintf(s->why, s->len, "the destination %s after the whole stream (%llu bytes)",
		 k < 0 ? strerror(errno) : k ? "answered something else" : "went away",
		 (unsigned long long)s->st->bytes_sent);
	return -EPIPE;
}

static int stop_and_copy(struct sender *s, uint64_t t_start)
{
	uint64_t t_stop = hv_now_ns();
	int e = s->o->pause(s->o->arg);

	if (e) {
		snprintf(s->why, s->len, "cannot stop the vCPUs for the stop-and-copy: %s",
			 strerror(-e));
		return e;
	}
	if ((e = hv_dirty_collect(&s->dirty))) {
		snprintf(s->why, s->len, "collecting the last dirty pages: %s", strerror(-e));
		return e;
	}
	if (!(e = send_dirty(s, &s->st->final_pages)) && !(e = send_vcpus(s)) &&
	    !(e = send_section(s, HV_SEC_END, 0, NULL, 0)))
		e = wait_resumed(s);
	if (!e) {
		uint64_t now = hv_now_ns();
		s->st->downtime_ns = now - t_stop;
		s->st->total_ns = now - t_start;
	}
	return e;
}

int hv_migrate_send(struct vm *vm, int fd, const struct hv_mig_opts *o, struct hv_mig_stats *st,
		    char *why, size_t len)
{
	struct sender s = {.vm = vm, .fd = fd, .o = o, .st = st, .why = why, .len = len};
	uint64_t t_start = hv_now_ns();
	int e;

	memset(st, 0, sizeof(*st));
	if (!o->pause || !o->max_rounds) {
		snprintf(why, len, "migration options: no pause callback, or max_rounds 0");
		return -EINVAL;
	}
	s.buf = malloc(HV_MIG_MAX_PAYLOAD);
	if (!s.buf)
		return -ENOMEM;
	s.bucket_ns = t_start;
	e = hv_dirty_start(&s.dirty, vm, o->mode);
	if (e)
		snprintf(why, len, "cannot start dirty tracking (%s): %s", hv_dirty_mode_name(o->mode),
			 strerror(-e));
	if (!e && !(e = send_start(&s)) && !(e = send_all_ram(&s)) && !(e = precopy(&s, t_start)))
		e = stop_and_copy(&s, t_start);
	hv_dirty_stop(&s.dirty);
	free(s.buf);
	return e;
}

/* ------------------------------------------------------------ receiver */

struct receiver {
	struct vm *vm;
	struct hv_mig_reader rd;
	struct hv_mig_recv_stats *st;
	struct hv_vcpu_state *state; /* vm->n_vcpus */
	char *why;
	size_t len;
};

static int bad(struct receiver *r, const char *fmt, const struct hv_mig_section *sec)
{
	snprintf(r->why, r->len, "migration stream: %s section #%llu: %s", hv_mig_sec_name(sec->type),
		 (unsigned long long)r->rd.sections, fmt);
	return -EPROTO;
}

static int check_layout(struct receiver *r, const struct hv_mig_section *sec)
{
	if (sec->len != r->vm->n_mem * 16ull)
		return bad(r, "another number of memory regions than this VM's", sec);
	for (unsigned i = 0; i < r->vm->n_mem; i++) {
		uint64_t gpa, size;
		memcpy(&gpa, sec->payload + 16 * i, 8);
		memcpy(&size, sec->payload + 16 * i + 8, 8);
		if (gpa != r->vm->mem[i].gpa || size != r->vm->mem[i].size) {
			snprintf(r->why, r->len, "migration stream: memory region %u is %llu bytes at "
						 "0x%llx, this VM's is %llu at 0x%llx: start the "
						 "destination with the same --guest-mem",
				 i, (unsigned long long)size, (unsigned long long)gpa,
				 (unsigned long long)r->vm->mem[i].size,
				 (unsigned long long)r->vm->mem[i].gpa);
			return -EINVAL;
		}
	}
	return 0;
}

static int put_pages(struct receiver *r, const struct hv_mig_section *sec)
{
	uint64_t gpa, n = sec->len >= 8 ? sec->len - 8 : 0;
	void *dst;

	if (sec->len < 8 + PAGE || n % PAGE)
		return bad(r, "not a whole number of pages", sec);
	memcpy(&gpa, sec->payload, 8);
	dst = gpa % PAGE ? NULL : vm_gpa_to_hva_checked(r->vm, gpa, n);
	if (!dst)
		return bad(r, "pages outside guest RAM (or misaligned)", sec);
	memcpy(dst, sec->payload + 8, n);
	r->st->pages += n / PAGE;
	return 0;
}

static int put_zero(struct receiver *r, const struct hv_mig_section *sec)
{
	uint64_t z[2];

	if (sec->len != sizeof(z))
		return bad(r, "not a gpa and a page count", sec);
	memcpy(z, sec->payload, sizeof(z));
	if (!z[1] || z[1] > (1ull << 40) || vm_gpa_release(r->vm, z[0], z[1] * PAGE))
		return bad(r, "zero range outside guest RAM (or misaligned)", sec);
	r->st->zero_pages += z[1];
	return 0;
}

static int put_vcpu(struct receiver *r, const struct hv_mig_section *sec)
{
	unsigned id = sec->arg >> 8, part = sec->arg & 0xff;
	char why[200];

	if (id >= r->vm->n_vcpus || sec->arg >> 16)
		return bad(r, "a vCPU this VM does not have", sec);
	if (vcpu_state_part_put(&r->state[id], (enum hv_state_part)part, sec->payload, sec->len,
				why, sizeof(why)))
		return bad(r, why, sec);
	return 0;
}

/* END: every vCPU's state, which must be there in full. */
static int put_states(struct receiver *r)
{
	for (unsigned i = 0; i < r->vm->n_vcpus; i++) {
		struct hv_vcpu_state *s = &r->state[i];
		int e;

		if (!s->have[HV_PART_REGS] || !s->have[HV_PART_SREGS]) {
			snprintf(r->why, r->len, "migration stream ended without vCPU %u's registers",
				 i);
			return -EPROTO;
		}
		if ((e = vcpu_state_set(r->vm->vcpus[i], s, r->why, r->len)))
			return e;
		r->st->msrs_refused += s->msrs_refused;
	}
	return 0;
}

static int recv_sections(struct receiver *r)
{
	struct hv_mig_section sec;
	bool layout = false;
	int e;

	for (;;) {
		if ((e = hv_mig_read_section(&r->rd, &sec, r->why, r->len)))
			return e;
		if (!layout && sec.type != HV_SEC_LAYOUT)
			return bad(r, "before the memory layout", &sec);
		switch (sec.type) {
		case HV_SEC_LAYOUT:
			if (layout)
				return bad(r, "a second layout", &sec);
			e = check_layout(r, &sec);
			layout = true;
			break;
		case HV_SEC_PAGES:
			e = put_pages(r, &sec);
			break;
		case HV_SEC_ZERO:
			e = put_zero(r, &sec);
			break;
		case HV_SEC_ROUND:
			r->st->rounds++;
			break;
		case HV_SEC_VCPU:
			e = put_vcpu(r, &sec);
			break;
		case HV_SEC_END:
			return put_states(r);
		}
		if (e)
			return e;
	}
}

int hv_migrate_recv(struct vm *vm, int fd, struct hv_mig_recv_stats *st, char *why, size_t len)
{
	struct receiver r = {.vm = vm, .st = st, .why = why, .len = len};
	struct hv_mig_header h;
	int e;

	memset(st, 0, sizeof(*st));
	r.state = calloc(vm->n_vcpus ? vm->n_vcpus : 1, sizeof(*r.state));
	if (!r.state || hv_mig_reader_init(&r.rd, fd)) {
		free(r.state);
		return -ENOMEM;
	}
	e = hv_mig_read_header(&r.rd, &h, why, len);
	if (!e && (h.n_vcpus != vm->n_vcpus || h.n_mem != vm->n_mem || h.ram_size != vm->ram_size)) {
		snprintf(why, len, "migration stream of a VM with %u vCPUs, %u regions, %llu bytes of "
				   "RAM; this VM has %u, %u, %llu: start the destination with the "
				   "source's shape",
			 h.n_vcpus, h.n_mem, (unsigned long long)h.ram_size, vm->n_vcpus, vm->n_mem,
			 (unsigned long long)vm->ram_size);
		e = -EINVAL;
	}
	if (!e)
		e = recv_sections(&r);
	st->bytes = r.rd.bytes;
	st->sections = r.rd.sections;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vcpu_state_free(&r.state[i]);
	free(r.state);
	hv_mig_reader_free(&r.rd);
	return e;
}

int hv_migrate_resumed(int fd)
{
	ssize_t k;

	while ((k = send(fd, "R", 1, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (k < 0 && errno == ENOTSOCK)
		k = write(fd, "R", 1);
	return k == 1 ? 0 : -errno;
}
