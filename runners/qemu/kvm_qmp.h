/*
 * qemu-kvm's KVM statistics per repetition (kvm_qmp.c): QEMU is started
 * with a QMP socket of its own, and at REP_BEGIN and REP_END hvbench asks
 * it for the vCPU's KVM stats (query-stats), writing the deltas as the kvm
 * runner does: counters.csv vcpu.NAME (source kvm-stats) and the exit
 * counters among them in exits.csv.
 */
#ifndef HVB_RUNNERS_QEMU_KVM_QMP_H
#define HVB_RUNNERS_QEMU_KVM_QMP_H

#include <stdbool.h>
#include <stdint.h>

#include "qmp.h"

struct hvb_out;
struct hvb_record;

struct qemu_kvm_stats {
	bool on;		/* qemu-kvm: rows are written (or why not) */
	char dir[64];		/* private directory holding the socket */
	char path[96];
	int state;		/* 0: not connected yet, 1: connected, -1: unavailable */
	char why[300];		/* why unavailable (state -1) */
	struct qmp qmp;
	struct qmp_stats st;
	uint64_t *before;	/* values at REP_BEGIN */
	bool have_begin;
	char *cmd;		/* the query-stats command */
	uint64_t t_begin;	/* host ns of the REP_BEGIN reply */
	uint64_t rtt_begin;	/* ns the REP_BEGIN query took */
};

/* Make the socket's directory: 0 or -errno (then the rows say why). */
int qemu_kvm_stats_init(struct qemu_kvm_stats *k);
/* The probe switched off (HVB_KVM_STATS=0): no socket, no QMP; every
 * REP_END gets one kvm-stats row, unsupported with why. */
void qemu_kvm_stats_off(struct qemu_kvm_stats *k, const char *why);
/* Add -qmp for the socket to argv (a NULL-terminated vector with room
 * for two more entries of cap). */
void qemu_kvm_stats_argv(struct qemu_kvm_stats *k, char **argv, unsigned cap);
/* REP_BEGIN / REP_END of workload rep: read and, at the end, write rows. */
void qemu_kvm_stats_rep(struct qemu_kvm_stats *k, const struct hvb_out *out,
			const struct hvb_record *rec, uint64_t ops, bool begin);
/* Close the socket and remove it and its directory. */
void qemu_kvm_stats_close(struct qemu_kvm_stats *k);

#endif
