/*
 * One job's network link, the same for every runner that serves net/
 * workloads (native, kvm and its variants, qemu-*): when a workload of the
 * job needs HVB_CAP_NET, a namespace of its own (netns.h) with the link
 * kind the runner asks for, the responder in it (peer.h), the words the
 * guest or the native child reads (abi.h net.*), the responder's CPU per
 * repetition (peer_cpu_ns_per_op, hostcpu.h) and the meta keys of the run
 * (net.*).  Everything is removed by hvb_netjob_stop, which every path of
 * a job calls (success, failure, Ctrl-C: the runner returns and stops it);
 * a run killed with SIGKILL leaves the namespace, which the next run's
 * hvb_netns_cleanup_stale removes, and the responder, which dies with its
 * parent (PR_SET_PDEATHSIG).
 */
#ifndef HVB_RUNNERS_NETJOB_H
#define HVB_RUNNERS_NETJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostcpu.h"
#include "hvb/abi.h"
#include "job.h"
#include "netns.h"
#include "sink.h"

struct hvb_peer;
struct hvb_record;

struct hvb_netjob {
	bool on;	  /* the job has a link (a workload needs HVB_CAP_NET) */
	bool reflect;	  /* no namespace, no responder: the VMM reflects frames */
	struct hvb_netns ns;
	struct hvb_peer *peer;
	int peer_cpu_nr;  /* where the responder is pinned, -1 unpinned */
	struct hvb_hostcpu peer_cpu;
	char *words;	  /* net.* (+ netif= for veth, net.reflect=1), malloc'd */
	char off[300];	  /* why the job needed a link and has none ("" = fine) */
	int adopt_cpu;	  /* HVB_LINK_ADOPT: the job's CPU, for the responder's */
};

/* Does a workload of the job need the network (HVB_CAP_NET)? */
bool hvb_job_needs_net(const struct hvb_job *job);

/* Can this process open /dev/vhost-net?  false with what to do. */
bool hvb_vhost_net_usable(char *why, size_t len);

/* The first CPU this process may use other than cpu, or -1: the responder
 * and the VMM's I/O thread stay off the vCPU's (the workload's) CPU. */
int hvb_other_cpu(int cpu);

/* The job's link: the namespace with a link of kind (vnet_hdr for taps a
 * VMM serves), the responder started and bound, the words.  0 (nj->on
 * tells whether the job needs one at all), or -errno when it needs one
 * and cannot have it (no root, no /dev/net/tun, ...): nj->off says why,
 * logged and warned once per run and runner.  The runner then runs the
 * job without HVB_CAP_NET, so the net/ workloads are skipped by their
 * valid(), and hvb_netjob_note_skip adds nj->off to those rows. */
int hvb_netjob_start(struct hvb_netjob *nj, const struct hvb_job *job, const struct hvb_out *out,
		     enum hvb_link_kind kind, bool vnet_hdr);
/* HVB_LINK_ADOPT (Xen: the vif appears with the domain): hvb_netjob_start
 * makes the namespace and the words only; this moves ifname in, gives it
 * the responder's side (hvb_netns_adopt) and starts the responder.  0, or
 * -errno with nj->off set as for a failed start (the job then has no
 * link: stop the guest's use of it as the runner sees fit). */
int hvb_netjob_adopt(struct hvb_netjob *nj, const struct hvb_out *out, const char *ifname);
/* The job needs a link that the runner cannot give (e.g. qemu-kvm-vhost
 * without /dev/vhost-net): as a failed start, with why. */
void hvb_netjob_refuse(struct hvb_netjob *nj, const struct hvb_job *job,
		       const struct hvb_out *out, const char *why);
/* A net/ workload skipped for want of HVB_CAP_NET while nj->off says
 * why: a copy of rec whose text also says it ("net: <why>"), or rec. */
const struct hvb_record *hvb_netjob_note_skip(const struct hvb_netjob *nj,
					      const struct hvb_record *rec,
					      struct hvb_record *copy);
/* HVB_CAP_NET when the job has a link. */
static inline uint32_t hvb_netjob_caps(const struct hvb_netjob *nj)
{
	return nj->on ? HVB_CAP_NET : 0;
}
/* The same for a VMM that reflects frames itself (kvm-loop): the words
 * with net.reflect=1, no namespace, no responder. */
void hvb_netjob_start_reflect(struct hvb_netjob *nj, const struct hvb_job *job,
			      const struct hvb_out *out);
/* REP_BEGIN / REP_END of a net/ workload: the responder's CPU over the
 * repetition (peer_cpu_ns_per_op), read when the record reaches the
 * runner. */
void hvb_netjob_rep(struct hvb_netjob *nj, const struct hvb_out *out,
		    const struct hvb_record *rec, uint64_t ops, bool begin);
/* "guest words" + the net words: malloc'd (words alone when there is no
 * link). */
char *hvb_netjob_cmdline(const struct hvb_netjob *nj, const char *words);
/* Stop the responder (its end logged), remove the namespace.  Idempotent;
 * a zeroed struct is fine. */
void hvb_netjob_stop(struct hvb_netjob *nj, const struct hvb_out *out);

#endif
