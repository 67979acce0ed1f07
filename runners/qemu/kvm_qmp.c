/*
 * qemu-kvm's KVM statistics over QMP (kvm_qmp.h).
 *
 * Precision, measured on this host (nested PVM, QEMU 7.2, a busy 2-core
 * machine): a query-stats round trip for the vCPU's 42 cumulative stats
 * took 3.1-7.1 ms over 9 repetitions (about 1 ms to an idle QEMU; the note
 * of every row gives the two of the repetition).
 * QEMU reads the stats on the vCPU thread (run_on_cpu), kicking it out of
 * KVM_RUN, so a query can add an exit of its own (seen: irq 2 per
 * repetition of micro/pio-out-user), and the read lands somewhere inside
 * the round trip.  The guest does not wait for either:
 * the REP_BEGIN read happens after its whole console line arrived, while
 * the workload already runs (its first operations are missed), and the
 * REP_END read after REP_END's line, whose serial port writes (one exit
 * per byte) are inside: micro/pio-out-user --quick, 410 operations, counted
 * insn_emulation 939 (PVM counts port writes there), so REP_END's line is
 * about 530 exits; in a run on a loaded host, 375 operations gave 598, so
 * the late REP_BEGIN reading missed about 300 operations.  So counts are per repetition +- those, and
 * exits per operation are only meaningful for repetitions of many
 * thousand operations; FORMAT.md says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_qmp.h"
#include "kvm_stats.h"
#include "records.h"
#include "sink.h"
#include "util.h"

#define QMP_TIMEOUT_MS 2000

int qemu_kvm_stats_init(struct qemu_kvm_stats *k)
{
	memset(k, 0, sizeof(*k));
	k->qmp.fd = -1;
	k->on = true; /* rows from here on, if only to say why not */
	snprintf(k->dir, sizeof(k->dir), "/tmp/hvbench-qmp-XXXXXX");
	if (!mkdtemp(k->dir)) {
		snprintf(k->why, sizeof(k->why), "cannot make a directory for QEMU's QMP socket: %s",
			 strerror(errno));
		k->dir[0] = '\0';
		k->state = -1;
		return -errno;
	}
	snprintf(k->path, sizeof(k->path), "%s/qmp.sock", k->dir);
	return 0;
}

void qemu_kvm_stats_off(struct qemu_kvm_stats *k, const char *why)
{
	memset(k, 0, sizeof(*k));
	k->qmp.fd = -1;
	k->on = true; /* the rows say it is off */
	k->state = -1;
	snprintf(k->why, sizeof(k->why), "%s", why);
}

void qemu_kvm_stats_argv(struct qemu_kvm_stats *k, char **argv, unsigned cap)
{
	unsigned n = 0;

	if (!k->path[0])
		return;
	while (argv[n])
		n++;
	if (n + 3 > cap) {
		snprintf(k->why, sizeof(k->why), "no room for -qmp on QEMU's command line");
		k->state = -1;
		return;
	}
	argv[n++] = xstrdup("-qmp");
	argv[n++] = xasprintf("unix:%s,server=on,wait=off", k->path);
	argv[n] = NULL;
}

static void unavailable(struct qemu_kvm_stats *k, const char *what, const char *detail)
{
	snprintf(k->why, sizeof(k->why), "%s: %s", what, detail);
	k->state = -1;
}

/* Connect and learn the stats: at the first repetition, when QEMU runs. */
static void connect_qmp(struct qemu_kvm_stats *k)
{
	struct qj_doc d;
	int ret, r;

	if (qmp_open(&k->qmp, k->path, QMP_TIMEOUT_MS))
		return unavailable(k, "QEMU's QMP socket", k->qmp.err);
	r = qmp_exec(&k->qmp, "{\"execute\":\"query-stats-schemas\",\"arguments\":"
			      "{\"provider\":\"kvm\"}}", &d, &ret);
	if (r)
		return unavailable(k, "query-stats-schemas (QEMU >= 7.1 has it)", k->qmp.err);
	r = qmp_stats_from_schema(&k->st, &d, ret);
	qj_free(&d);
	if (r)
		return unavailable(k, "query-stats-schemas",
				   r == -ENOENT ? "no kvm vcpu statistics" : "malformed schema");
	k->before = xcalloc(k->st.n, sizeof(*k->before));
	k->cmd = qmp_stats_command(&k->st);
	k->state = 1;
}

/* One query into k->st.val; *rtt: its round trip in ns. */
static int read_stats(struct qemu_kvm_stats *k, uint64_t *rtt, uint64_t *t_end)
{
	uint64_t t0 = hvb_now_ns();
	struct qj_doc d;
	char why[200];
	int ret, r;

	r = qmp_exec(&k->qmp, k->cmd, &d, &ret);
	*t_end = hvb_now_ns();
	*rtt = *t_end - t0;
	if (r) {
		unavailable(k, "query-stats", k->qmp.err);
		return r;
	}
	r = qmp_stats_values(&k->st, &d, ret, why, sizeof(why));
	qj_free(&d);
	if (r)
		unavailable(k, "query-stats", why);
	return r;
}

static void write_rows(struct qemu_kvm_stats *k, const struct hvb_out *out,
		       const struct hvb_record *rec, uint64_t ops, uint64_t span, uint64_t rtt_end)
{
	char note[300], rb[QMP_STAT_NAME], event[QMP_STAT_NAME + 8];
	const char *reason;

	snprintf(note, sizeof(note),
		 "QMP query-stats delta REP_BEGIN..REP_END as hvbench read them (QMP round trips "
		 "%.0f us and %.0f us, each may add an exit: QEMU kicks the vCPU to read them; includes REP_END's console line); ops=%llu",
		 (double)k->rtt_begin / 1e3, (double)rtt_end / 1e3, (unsigned long long)ops);
	for (unsigned i = 0; i < k->st.n; i++) {
		uint64_t delta = k->st.val[i] >= k->before[i] ? k->st.val[i] - k->before[i] : 0;
		snprintf(event, sizeof(event), "vcpu.%s", k->st.name[i]);
		hvb_out_counter(out, .workload = rec->workload, .rep = rec->rep, .event = event,
				.has_value = true, .value = (double)delta, .time_enabled = span,
				.time_running = span, .source = "kvm-stats", .note = note);
		reason = kvm_stats_exit_reason(k->st.name[i], rb, sizeof(rb));
		if (reason)
			hvb_out_exit(out, .workload = rec->workload, .rep = rec->rep,
				     .reason = reason, .count = delta, .source = "kvm-stats",
				     .has_ops = ops != 0, .ops = ops);
	}
}

void qemu_kvm_stats_rep(struct qemu_kvm_stats *k, const struct hvb_out *out,
			const struct hvb_record *rec, uint64_t ops, bool begin)
{
	uint64_t rtt, t;

	if (!k->on)
		return;
	if (!k->state)
		connect_qmp(k);
	if (begin) {
		k->have_begin = k->state == 1 && !read_stats(k, &k->rtt_begin, &k->t_begin);
		if (k->have_begin)
			memcpy(k->before, k->st.val, k->st.n * sizeof(*k->before));
		return;
	}
	if (k->state == 1 && k->have_begin && !read_stats(k, &rtt, &t))
		write_rows(k, out, rec, ops, t - k->t_begin, rtt);
	else
		hvb_out_counter(out, .workload = rec->workload, .rep = rec->rep,
				.event = "kvm-stats", .source = "kvm-stats",
				.status = k->state == 1 ? HVB_ST_FAILED : HVB_ST_UNSUPPORTED,
				.note = k->state == 1 ? "no REP_BEGIN reading" : k->why);
	k->have_begin = false;
}

void qemu_kvm_stats_close(struct qemu_kvm_stats *k)
{
	if (!k->on)
		return; /* never initialised (qemu-tcg): nothing is open */
	qmp_close(&k->qmp);
	qmp_stats_free(&k->st);
	free(k->before);
	free(k->cmd);
	k->before = NULL, k->cmd = NULL;
	if (k->path[0])
		unlink(k->path);
	if (k->dir[0])
		rmdir(k->dir);
	k->path[0] = k->dir[0] = '\0';
	k->on = false;
}
