/*
 * Live migration of a QEMU guest between two QEMU processes on this host
 * (migrate.c): the engine the qemu-kvm / qemu-tcg runner drives while it
 * collects the guest's console, and that `hvbench migrate` calls through
 * its per-runner table.
 *
 * The source is the runner's QEMU as it starts today, with one more -qmp
 * socket (qemu_migrate_argv).  At the trigger, the engine starts the
 * destination with the source's command line plus `-incoming unix:PATH`
 * (given at start, not `defer`: no migrate-incoming round trip, and QEMU
 * listens before its QMP socket answers, so a connected QMP means a
 * listening destination).  The destination's serial and stderr are the
 * source's own pipes, reopened through /proc/<source>/fd/1 and fd/2: the
 * runner's reader keeps reading one pipe and sees the guest's records
 * continue from the destination once the source stops (the UART state
 * moves with the guest; the console stream drops what it saw twice).
 *
 * Life cycle, all from the runner's thread except the engine's own:
 *	qemu_migrate_init      (defaults applied, socket directory made)
 *	qemu_migrate_argv      (the source's -qmp, before it is spawned)
 *	qemu_migrate_start     (the engine thread, after the spawn)
 *	qemu_migrate_arm       (the guest said HELLO: at_ms counts from here)
 *	... qemu_collect ...
 *	qemu_migrate_stop      (join; a migration still running is cancelled)
 *	qemu_migrate_reap_dst  (the destination, if it took over)
 *	qemu_migrate_rows      (figures as rows of the running workload)
 *	qemu_migrate_close
 * No QEMU is left behind: the destination is killed on every path where
 * it did not take over, and it runs in its own process group with
 * PR_SET_PDEATHSIG like the source (proc.c).
 */
#ifndef HVB_RUNNERS_QEMU_MIGRATE_H
#define HVB_RUNNERS_QEMU_MIGRATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "qmp.h"

struct hvb_out;
struct hvb_record;

#define QEMU_MIG_BW_UNLIMITED (1ull << 40) /* bytes/s given to QEMU for "no limit" */
#define QEMU_MIG_LIMIT_MS     60000	   /* default give-up time */
#define QEMU_MIG_POLL_MS      20	   /* query-migrate period */
/* How QEMU tracks dirty pages, as meta says it (runner.<name>.migrate
 * dirty=): the command line sets no dirty-ring-size, so QEMU 7.2 takes
 * KVM's dirty bitmap with manual protect, initially all set, where KVM
 * offers it (ours does); under TCG its own.  Both kvm modes were measured
 * here and lose no page (README "Live migration under QEMU"). */
#define QEMU_MIG_DIRTY_KVM "log+clear (QEMU's default: KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG)"
#define QEMU_MIG_DIRTY_TCG "tcg (QEMU's own dirty bitmap)"

/* What one migration is asked to do (all set by the caller; 0 = default
 * where a default is named). */
struct qemu_migrate_params {
	unsigned at_ms;		/* ms after the guest's HELLO to start migrating */
	uint64_t max_bw;	/* bytes/s, migrate-set-parameters max-bandwidth;
				 * 0: unlimited (QEMU_MIG_BW_UNLIMITED) */
	unsigned downtime_ms;	/* downtime-limit; 0: QEMU's (300 ms in 7.2) */
	unsigned limit_ms;	/* not completed by then: migrate_cancel,
				 * converged=0; 0: QEMU_MIG_LIMIT_MS */
	unsigned max_rounds;	/* dirty-sync-count beyond this: cancel; 0: none */
	int cpu;		/* pin the destination's vCPU 0 here, -1 not */
	unsigned vcpus;		/* --vcpus: the destination's vCPU i >= 1 pinned to */
	int cpus[HVB_MAX_VCPUS]; /* cpus[i] (-1 not), as the source's were */
	bool thp_off;		/* as the source (--page-size 4k) */
};

/* One query-migrate reply (QEMU 7.2 MigrationInfo); has_* for members
 * QEMU sends only in some states.  Units as QEMU gives them. */
struct qemu_mig_info {
	char status[24];	     /* none setup active cancelling cancelled completed failed ... */
	bool has_total, has_downtime, has_setup, has_expected, has_ram;
	uint64_t total_ms;	     /* total-time: migrate command -> now / completion */
	uint64_t downtime_ms;	     /* downtime: source stopped -> destination may run */
	uint64_t setup_ms;	     /* setup-time */
	uint64_t expected_downtime_ms;
	uint64_t transferred;	     /* ram.transferred, bytes */
	uint64_t remaining;	     /* ram.remaining, bytes */
	uint64_t ram_total;	     /* ram.total, bytes */
	uint64_t dirty_pages_rate;   /* ram.dirty-pages-rate, pages/s */
	uint64_t dirty_sync_count;   /* ram.dirty-sync-count: pre-copy rounds */
	uint64_t page_size;	     /* ram.page-size, bytes */
	double mbps;		     /* ram.mbps, Mbit/s */
	char error[160];	     /* error-desc (status failed) */
};

/* Parse the "return" object (node ret) of a query-migrate reply: 0, or
 * -EPROTO with why (no status, a member of the wrong type). */
int qemu_mig_info_parse(struct qemu_mig_info *mi, const struct qj_doc *d, int ret, char *why,
			size_t len);

enum qemu_mig_end {
	QEMU_MIG_NONE,	    /* never started (the guest ended first, or a setup error) */
	QEMU_MIG_COMPLETED, /* the destination runs the guest */
	QEMU_MIG_CANCELLED, /* did not converge within the limits: cancelled */
	QEMU_MIG_FAILED,    /* QEMU failed it, or a QEMU died: why says which */
};

/* What came of it (valid after qemu_migrate_stop). */
struct qemu_migrate_result {
	enum qemu_mig_end end;
	bool converged;		  /* end == COMPLETED */
	struct qemu_mig_info last; /* the last reply (the final one when it completed) */
	uint64_t max_dirty_rate;  /* highest ram.dirty-pages-rate seen, pages/s */
	uint64_t max_expected_ms; /* highest expected-downtime seen */
	unsigned polls;
	uint64_t t_switch;	  /* host ns the source was told to quit (0: never) */
	char transitions[256];	  /* "setup@0 active@14 completed@310" (ms after migrate) */
	char why[1024];		  /* the verdict, one line */
};

struct qemu_migrate {
	struct qemu_migrate_params p;
	char dir[64];		   /* private: the sockets */
	char src_qmp[96], dst_qmp[96], uri[112];
	char **dst_argv;	   /* the source's argv + -incoming + -qmp */
	pid_t src_pid;
	struct qemu_proc dst;	   /* pid 0: not started */
	bool took_over;		   /* completed: dst runs the guest, the source quit */
	pthread_t thread;
	bool thread_on;
	volatile int armed;	   /* HELLO seen */
	uint64_t t_armed;	   /* host ns of HELLO */
	volatile int abort;	   /* the runner stopped collecting */
	double guest_gap_ns;	   /* migrate/dirty's req_ns.max (runner's thread; -1 none) */
	struct qemu_migrate_result res;
};

/* Take p (its defaults filled in) and make the socket directory under
 * $TMPDIR (or /tmp): 0, or -errno with why. */
int qemu_migrate_init(struct qemu_migrate *m, const struct qemu_migrate_params *p, char *why,
		      size_t len);
/* Add the source's -qmp socket to argv (NULL-terminated, cap entries). */
int qemu_migrate_argv(struct qemu_migrate *m, char **argv, unsigned cap);
/* The source (argv as spawned, now with pid) runs: start the engine
 * thread.  0 or -errno (then no migration, res.why says so). */
int qemu_migrate_start(struct qemu_migrate *m, char **argv, pid_t src_pid);
/* The guest said HELLO at host ns t (the runner's thread). */
void qemu_migrate_arm(struct qemu_migrate *m, uint64_t t);
/* Did a console read stamped at host ns t come after the switch (so from
 * the destination)?  Safe from the runner's thread while the engine runs. */
bool qemu_migrate_after_switch(const struct qemu_migrate *m, uint64_t t);
/* A record of the guest's repetition rep (the runner's thread): keeps the
 * guest-observed downtime (hvb_mig_guest_gap) for the rows. */
void qemu_migrate_note_record(struct qemu_migrate *m, const struct hvb_record *rec,
			      unsigned rep);
/* Join the engine; a migration still under way is cancelled, and a
 * destination that did not take over is killed and reaped. */
void qemu_migrate_stop(struct qemu_migrate *m);
/* Reap the destination that took over (stopping it first if must_stop),
 * as qemu_reap does: its wait status.  Call only if m->took_over. */
int qemu_migrate_reap_dst(struct qemu_migrate *m, bool must_stop);
/* The figures as sample rows of workload, repetition rep; one failed
 * row per metric (with why) if the migration failed or never ran; and
 * where it ran, the guest's downtime (HVB_MIG_GUEST_DOWNTIME) as kvm's. */
void qemu_migrate_rows(const struct qemu_migrate *m, const struct hvb_out *out,
		       const char *workload, unsigned rep);
/* Remove the sockets and their directory; free. */
void qemu_migrate_close(struct qemu_migrate *m);

/* The trigger for tests and the migrate command, from the environment:
 * HVB_QEMU_MIGRATE_AT_MS (unset: *on = false), HVB_QEMU_MIGRATE_BW_MIBS,
 * HVB_QEMU_MIGRATE_DOWNTIME_MS, HVB_QEMU_MIGRATE_LIMIT_MS,
 * HVB_QEMU_MIGRATE_ROUNDS.  0, or -EINVAL with why (a malformed value). */
int qemu_migrate_params_env(struct qemu_migrate_params *p, bool *on, char *why, size_t len);

#endif
