/*
 * Pre-copy migration between two processes over a unix socket pair
 * (hv/migrate.c, hv/migrate_stream.c), with the dirtier guest of
 * hv_dirtyguest.h rewriting its pages all the time:
 *   - converging (no bandwidth limit, a generous downtime target): the
 *     destination resumes the guest, which goes on there and verifies
 *     every page and its registers; converged = 1
 *   - not converging (a bandwidth limit below the dirty rate, a 1 ms
 *     target): ends by the round limit with converged = 0 and still
 *     completes by stop-and-copy, verified
 *   - each dirty mode this host offers carries a converging migration
 *   - the destination killed (SIGKILL) mid-migration: the source says it
 *     went away, the source's VM is stopped, no process is left
 *   - the source killed mid-migration: the destination says the stream
 *     ended, its VM never ran
 *   - corrupt streams (truncated, bad checksum, wrong version, bad magic,
 *     oversized section, pages outside RAM, wrong shape) refused with a
 *     clear error.
 * No timing is asserted.  Skips without /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "hv_dirtyguest.h"
#include "migrate.h"
#include "migrate_stream.h"
#include "watchdog.h"

#define NPAGES 128 /* 512 KiB rewritten per generation */

/* Destination exit codes. */
enum { DST_VERIFIED = 0, DST_RECV_FAILED = 2, DST_BAD_PAGE = 3, DST_NO_REPORT = 4,
       DST_SETUP = 5 };

static const struct hv_run_opts run_opts = {.timeout_ns = 60000000000ull};

static uint32_t guest_gen(struct vm *vm)
{
	return __atomic_load_n((uint32_t *)__vm_gpa_to_hva(vm, DG_GEN), __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------ the vCPU thread */

struct runner {
	struct vm *vm;
	pthread_t t;
	volatile int stop;
	bool started;
	struct hv_run_opts o;
};

static void *vcpu_main(void *arg)
{
	struct runner *r = arg;

	vcpu_run(r->vm->vcpus[0], &r->o);
	return NULL;
}

static int runner_start(struct runner *r, struct vm *vm)
{
	r->vm = vm;
	r->stop = 0;
	r->o = run_opts;
	r->o.stop_flag = &r->stop;
	r->started = !pthread_create(&r->t, NULL, vcpu_main, r);
	return r->started ? 0 : -EAGAIN;
}

/* The pause callback: a verdict and a kick take the vCPU out of KVM_RUN. */
static int runner_pause(void *arg)
{
	struct runner *r = arg;

	if (!r->started)
		return 0;
	vm_stop(r->vm, NULL, HV_INTERRUPTED, "paused for the migration");
	vcpu_kick(r->vm->vcpus[0], r->t);
	pthread_join(r->t, NULL);
	r->started = false;
	return 0;
}

/* ------------------------------------------------------------ destination */

/* The destination process: an empty VM of the same shape, the stream,
 * then the guest on until its report.  Exits with DST_*. */
static void destination(int fd, bool ring)
{
	struct dg_result res = {0};
	struct hv_mig_recv_stats st;
	struct runner run = {0};
	struct vm *vm = dg_vm(&res, ring);
	char why[400];
	uint32_t gen;

	if (!vm)
		_exit(DST_SETUP);
	if (hv_migrate_recv(vm, fd, &st, why, sizeof(why))) {
		printf("# destination: %s\n", why);
		fflush(stdout);
		vm_destroy(vm);
		_exit(DST_RECV_FAILED);
	}
	gen = guest_gen(vm);
	runner_start(&run, vm);
	hv_migrate_resumed(fd);
	/* The guest must make progress here before it may finish. */
	for (uint64_t t0 = hv_now_ns(); guest_gen(vm) < gen + 2 && hv_now_ns() - t0 < 20000000000ull;)
		usleep(1000);
	*(volatile uint32_t *)__vm_gpa_to_hva(vm, DG_FINISH) = 1;
	pthread_join(run.t, NULL);
	printf("# destination: %llu bytes, %llu pages, %llu zero pages, %u rounds; resumed at "
	       "generation %u, verified generation %u (ok %d, bad %d, first bad page %u)\n",
	       (unsigned long long)st.bytes, (unsigned long long)st.pages,
	       (unsigned long long)st.zero_pages, st.rounds, gen, res.ok_gen, res.ok, res.bad,
	       res.bad_page);
	fflush(stdout);
	vm_destroy(vm);
	_exit(res.bad ? DST_BAD_PAGE : res.ok && res.ok_gen >= gen + 2 ? DST_VERIFIED : DST_NO_REPORT);
}

/* ------------------------------------------------------------ source */

struct source {
	struct vm *vm;
	struct dg_result res;
	struct runner run;
	pid_t kill_at_round1; /* SIGKILL this pid when round 1 ends (0 = none) */
};

static void on_round(void *arg, unsigned round, uint64_t dirty)
{
	struct source *s = arg;

	(void)dirty;
	if (round == 1 && s->kill_at_round1)
		kill(s->kill_at_round1, SIGKILL);
}

static int source_pause(void *arg)
{
	return runner_pause(&((struct source *)arg)->run);
}

static int source_boot(struct source *s, bool ring)
{
	struct dg_asm a;
	uint32_t npages = NPAGES;

	memset(s, 0, sizeof(*s));
	s->vm = dg_vm(&s->res, ring);
	if (!s->vm)
		return -ENODEV;
	dg_dirtier(&a);
	dg_load(s->vm, &a);
	vm_gpa_write(s->vm, DG_NPAGES, &npages, 4);
	runner_start(&s->run, s->vm);
	/* Running and dirtying before the migration starts. */
	for (uint64_t t0 = hv_now_ns(); guest_gen(s->vm) < 2 && hv_now_ns() - t0 < 10000000000ull;)
		usleep(1000);
	return guest_gen(s->vm) >= 2 ? 0 : -ETIMEDOUT;
}

static void source_end(struct source *s)
{
	runner_pause(&s->run);
	vm_destroy(s->vm);
}

struct pair {
	int rc;		      /* hv_migrate_send */
	int status;	      /* the destination's wait status */
	struct hv_mig_stats st;
	char why[400];
};

/* One migration: the destination forked, the source here. */
static void migrate_pair(struct pair *p, const struct hv_mig_opts *base, bool kill_dst)
{
	struct source s;
	struct hv_mig_opts o = *base;
	int sv[2];
	pid_t pid;
	bool ring = o.mode == HV_DIRTY_RING;

	memset(p, 0, sizeof(*p));
	p->rc = -ENODEV;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		destination(sv[1], ring);
	}
	close(sv[1]);
	if (pid < 0 || source_boot(&s, ring)) {
		snprintf(p->why, sizeof(p->why), "source did not boot");
		close(sv[0]);
		if (pid > 0)
			kill(pid, SIGKILL), waitpid(pid, &p->status, 0);
		return;
	}
	s.kill_at_round1 = kill_dst ? pid : 0;
	o.pause = source_pause;
	o.on_round = on_round;
	o.arg = &s;
	p->rc = hv_migrate_send(s.vm, sv[0], &o, &p->st, p->why, sizeof(p->why));
	close(sv[0]);
	source_end(&s);
	waitpid(pid, &p->status, 0);
}

static void print_stats(const char *what, const struct pair *p)
{
	printf("# %s: rc %d%s%s; %u rounds, converged %d, %llu bytes, %llu pages + %llu zero, "
	       "%llu dirtied in pre-copy, %llu final, downtime %.3f ms, total %.3f ms\n",
	       what, p->rc, p->why[0] ? ": " : "", p->why, p->st.rounds, p->st.converged,
	       (unsigned long long)p->st.bytes_sent, (unsigned long long)p->st.pages_sent,
	       (unsigned long long)p->st.zero_pages, (unsigned long long)p->st.dirty_pages,
	       (unsigned long long)p->st.final_pages, (double)p->st.downtime_ns / 1e6,
	       (double)p->st.total_ns / 1e6);
}

static bool dst_verified(const struct pair *p)
{
	return WIFEXITED(p->status) && WEXITSTATUS(p->status) == DST_VERIFIED;
}

static void test_converges(enum hv_dirty_mode mode)
{
	struct hv_mig_opts o = {.mode = mode, .downtime_ns = 30000000000ull, .max_rounds = 5};
	struct pair p;
	char what[400], why[300];
	struct vm *vm;

	if (vm_create(&vm, NULL))
		return;
	if (hv_dirty_probe(vm, mode, why, sizeof(why))) {
		snprintf(what, sizeof(what), "migration with %s: unsupported here: %s",
			 hv_dirty_mode_name(mode), why);
		TAP_SKIP(what);
		vm_destroy(vm);
		return;
	}
	vm_destroy(vm);
	migrate_pair(&p, &o, false);
	snprintf(what, sizeof(what), "%s", hv_dirty_mode_name(mode));
	print_stats(what, &p);
	snprintf(what, sizeof(what), "%s: the migration completed", hv_dirty_mode_name(mode));
	TAP_EQ_INT(p.rc, 0, what);
	snprintf(what, sizeof(what),
		 "%s: the guest went on on the destination and verified every page",
		 hv_dirty_mode_name(mode));
	TAP_OK(dst_verified(&p), what);
	snprintf(what, sizeof(what), "%s: converged (target far above the dirty set)",
		 hv_dirty_mode_name(mode));
	TAP_OK(p.st.converged, what);
	TAP_OK(p.st.rounds >= 1 && p.st.bytes_sent > NPAGES * 4096ull && p.st.zero_pages > 0,
	       "rounds, bytes and zero ranges counted");
	TAP_OK(p.st.downtime_ns > 0 && p.st.total_ns >= p.st.downtime_ns,
	       "downtime measured, within the total");
}

static void test_does_not_converge(void)
{
	/* 2 MiB/s cannot carry 512 KiB rewritten continuously within 1 ms. */
	struct hv_mig_opts o = {.mode = HV_DIRTY_LOG, .bandwidth = 2u << 20,
				.downtime_ns = 1000000, .max_rounds = 3};
	struct pair p;

	migrate_pair(&p, &o, false);
	print_stats("non-converging", &p);
	TAP_EQ_INT(p.rc, 0, "non-converging: still completed by stop-and-copy");
	TAP_OK(!p.st.converged, "converged = 0");
	TAP_EQ_INT(p.st.rounds, 3, "it ended by the round limit");
	TAP_OK(p.st.final_pages > 0, "the stop-and-copy carried the dirty set");
	TAP_OK(p.st.dirty_pages >= NPAGES, "the guest dirtied its working set during pre-copy");
	TAP_OK(p.st.bandwidth > 0 && p.st.bandwidth <= 2.2 * (2u << 20),
	       "the measured bandwidth respects the limit (token bucket)");
	TAP_OK(dst_verified(&p), "non-converging: the destination verified every page");
}

static void test_destination_killed(void)
{
	struct hv_mig_opts o = {.mode = HV_DIRTY_LOG, .bandwidth = 2u << 20,
				.downtime_ns = 1000000, .max_rounds = 50};
	struct pair p;

	migrate_pair(&p, &o, true);
	print_stats("destination killed", &p);
	TAP_EQ_INT(p.rc, -EPIPE, "destination killed: the source's send fails with EPIPE");
	TAP_OK(strstr(p.why, "destination went away") != NULL, "and says the destination went away");
	TAP_OK(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL, "the destination was killed");
}

static void test_source_killed(void)
{
	struct hv_mig_opts o = {.mode = HV_DIRTY_LOG, .bandwidth = 2u << 20,
				.downtime_ns = 1000000, .max_rounds = 50};
	struct dg_result res = {0};
	struct hv_mig_recv_stats st;
	struct pair p;
	struct vm *vm = dg_vm(&res, false);
	char why[400] = "";
	int sv[2], status = 0, rc;
	pid_t pid;

	if (!vm || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		TAP_OK(0, "destination VM and socket");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct source s;
		close(sv[1]);
		if (source_boot(&s, false))
			_exit(1);
		s.kill_at_round1 = getpid(); /* the source kills itself mid-migration */
		o.pause = source_pause, o.on_round = on_round, o.arg = &s;
		hv_migrate_send(s.vm, sv[0], &o, &p.st, p.why, sizeof(p.why));
		_exit(1);
	}
	close(sv[0]);
	rc = hv_migrate_recv(vm, sv[1], &st, why, sizeof(why));
	printf("# source killed: rc %d: %s (%llu bytes read)\n", rc, why,
	       (unsigned long long)st.bytes);
	TAP_EQ_INT(rc, -EPIPE, "source killed: the destination's stream ends (EPIPE)");
	TAP_OK(strstr(why, "sender went away") != NULL, "and it says the sender went away");
	TAP_OK(st.bytes > 0, "after part of the stream");
	close(sv[1]); /* a source still waiting for its answer ends too */
	waitpid(pid, &status, 0);
	TAP_OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the source was killed");
	TAP_EQ_INT(vm->vcpus[0]->n_exits, 0, "the destination's VM never ran");
	vm_destroy(vm);
}

/* ------------------------------------------------------------ corrupt streams */

struct stream {
	uint8_t buf[64 << 10];
	size_t n;
};

static void put(struct stream *s, const void *p, size_t n)
{
	if (n) /* an empty section has no payload pointer */
		memcpy(s->buf + s->n, p, n);
	s->n += n;
}

static void put_section(struct stream *s, uint32_t type, uint32_t arg, const void *p, size_t n)
{
	uint8_t head[HV_MIG_HEAD_SIZE];
	uint64_t sum;

	hv_mig_head_encode(head, type, arg, n);
	sum = hv_mig_sum(hv_mig_sum(HV_MIG_SUM_SEED, head, sizeof(head)), p, n);
	put(s, head, sizeof(head));
	put(s, p, n);
	put(s, &sum, 8);
}

/* A valid stream for dg_vm's shape: header, layout, one page, end (no vCPU
 * state: END then fails on the registers, which is the last check). */
static void good_stream(struct stream *s)
{
	struct hv_mig_header h = {.version = HV_MIG_VERSION, .n_vcpus = 1, .n_mem = 1,
				  .ram_size = DG_RAM};
	uint8_t hb[HV_MIG_HEADER_SIZE], page[8 + 4096];
	uint64_t layout[2] = {0, DG_RAM}, gpa = DG_WSS;

	s->n = 0;
	put(s, hb, hv_mig_header_encode(hb, &h));
	put_section(s, HV_SEC_LAYOUT, 0, layout, sizeof(layout));
	memcpy(page, &gpa, 8);
	memset(page + 8, 0xab, 4096);
	put_section(s, HV_SEC_PAGES, 0, page, sizeof(page));
	put_section(s, HV_SEC_END, 0, NULL, 0);
}

/* Feed s (n bytes of it) to a fresh destination. */
static int feed(const struct stream *s, size_t n, char *why, size_t len)
{
	struct dg_result res = {0};
	struct hv_mig_recv_stats st;
	struct vm *vm = dg_vm(&res, false);
	int fd = memfd_create("hvb-mig-test", MFD_CLOEXEC), rc = -ENODEV;

	why[0] = '\0';
	if (vm && fd >= 0 && write(fd, s->buf, n) == (ssize_t)n && !lseek(fd, 0, SEEK_SET))
		rc = hv_migrate_recv(vm, fd, &st, why, len);
	if (fd >= 0)
		close(fd);
	vm_destroy(vm);
	return rc;
}

static void refused(const struct stream *s, size_t n, int want, const char *needle,
		    const char *what)
{
	char why[400], desc[200];
	int rc = feed(s, n, why, sizeof(why));

	printf("# %s: %d %s\n", what, rc, why);
	snprintf(desc, sizeof(desc), "%s: refused", what);
	TAP_EQ_INT(rc, want, desc);
	snprintf(desc, sizeof(desc), "%s: the error says '%s'", what, needle);
	TAP_OK(strstr(why, needle) != NULL, desc);
}

static void test_corrupt_streams(void)
{
	static struct stream s;
	size_t page_at = HV_MIG_HEADER_SIZE + HV_MIG_HEAD_SIZE + 16 + 8;
	uint64_t big = 1ull << 32, bad_gpa = DG_RAM;

	good_stream(&s);
	refused(&s, s.n, -EPROTO, "registers", "a stream without vCPU state");
	refused(&s, page_at + HV_MIG_HEAD_SIZE + 100, -EPIPE, "ended", "a truncated stream");
	refused(&s, 10, -EPIPE, "header", "a stream cut in its header");
	good_stream(&s);
	s.buf[page_at + HV_MIG_HEAD_SIZE + 8 + 77] ^= 1;
	refused(&s, s.n, -EPROTO, "checksum mismatch", "a flipped bit in a page");
	good_stream(&s);
	s.buf[8] = 2;
	refused(&s, s.n, -EPROTO, "version 2", "a stream of another version");
	good_stream(&s);
	s.buf[0] = 'X';
	refused(&s, s.n, -EPROTO, "not an hvbench migration stream", "a foreign stream");
	good_stream(&s);
	s.buf[30] ^= 4;
	refused(&s, s.n, -EPROTO, "header damaged", "a damaged header");
	good_stream(&s);
	memcpy(s.buf + page_at + 8, &big, 8);
	refused(&s, s.n, -EPROTO, "at most", "a section claiming 4 GiB");
	good_stream(&s);
	memcpy(s.buf + page_at, &(uint32_t){77}, 4);
	refused(&s, s.n, -EPROTO, "unknown section type 77", "an unknown section");
	s.n = 0;
	{
		struct hv_mig_header h = {.version = HV_MIG_VERSION, .n_vcpus = 1, .n_mem = 1,
					  .ram_size = DG_RAM};
		uint8_t hb[HV_MIG_HEADER_SIZE], page[8 + 4096] = {0};
		uint64_t layout[2] = {0, DG_RAM};

		put(&s, hb, hv_mig_header_encode(hb, &h));
		put_section(&s, HV_SEC_LAYOUT, 0, layout, sizeof(layout));
		memcpy(page, &bad_gpa, 8);
		put_section(&s, HV_SEC_PAGES, 0, page, sizeof(page));
		refused(&s, s.n, -EPROTO, "outside guest RAM", "pages beyond RAM");
		s.n = 0;
		h.ram_size = 2 * DG_RAM;
		put(&s, hb, hv_mig_header_encode(hb, &h));
		refused(&s, s.n, -EINVAL, "source's shape", "a stream of a bigger VM");
		s.n = 0;
		h.ram_size = DG_RAM;
		put(&s, hb, hv_mig_header_encode(hb, &h));
		put_section(&s, HV_SEC_PAGES, 0, page, sizeof(page));
		refused(&s, s.n, -EPROTO, "before the memory layout", "pages before the layout");
	}
}

int main(void)
{
	char why[128];

	if (dg_kvm_unusable(why, sizeof(why))) {
		TAP_SKIP(why);
		return tap_done();
	}
	signal(SIGPIPE, SIG_IGN);
	test_corrupt_streams();
	for (unsigned m = 0; m < HV_DIRTY_MODES; m++)
		test_converges((enum hv_dirty_mode)m);
	test_does_not_converge();
	test_destination_killed();
	test_source_killed();
	return tap_done();
}
