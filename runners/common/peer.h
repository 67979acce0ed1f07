/*
 * The responder on the host side of the run's link (hvb/netproto.h): a
 * process forked into the link's namespace (netns.h), bound to the peer
 * address and port, that answers ECHO, counts SINK, sends STREAMs and
 * answers STATS/RESET.  Every runner's net/ workloads talk to the same
 * code through the same kernel stack; under Xen it runs in dom0 beside
 * the xen runner, in the namespace the vif was moved into.
 *
 * It is a separate process (not a thread) so that its CPU time is its own
 * (host CPU per packet, runners/common/hostcpu.h) and a hostile or broken
 * workload cannot stall the runner.  It serves until hvb_peer_stop, and
 * exits by itself when its parent dies (PR_SET_PDEATHSIG): a process
 * outlives the name of its namespace, so removing a killed run's
 * namespace (netns.h) would not stop it.
 */
#ifndef HVB_RUNNERS_PEER_H
#define HVB_RUNNERS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hvb_netns;
struct hvb_peer;

/* Fork the responder into ns, pinned to cpu (-1: not pinned), and wait
 * until its socket is bound.  0, or -errno with why filled. */
int hvb_peer_start(const struct hvb_netns *ns, int cpu, struct hvb_peer **out, char *why,
		   size_t len);
/* Its pid (host CPU accounting: all of its CPU time serves the link). */
pid_t hvb_peer_pid(const struct hvb_peer *p);
/* For meta (net.peer) and logs: "pid N, cpu C, 10.78.0.1:47101, SO_RCVBUF
 * B, SO_SNDBUF B" (the socket buffer sizes the kernel granted). */
void hvb_peer_describe(const struct hvb_peer *p, char *buf, size_t len);
/* Stop it (SIGTERM, then SIGKILL after a second) and reap it; NULL is fine.
 * Returns false if it had died before (then why says how). */
bool hvb_peer_stop(struct hvb_peer *p, char *why, size_t len);

#endif
