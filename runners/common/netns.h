/*
 * The run's network link: a network namespace hvbench creates for a run
 * that selected net/ workloads, the responder's interface in it, and the
 * end the runner hands to what it measures.  Every runner of the run uses
 * the same addresses, the same responder code (peer.h) and the same host
 * stack, so native and guest figures cross the same kernel path:
 *
 *   HVB_LINK_TAP   a tap created in the namespace (IFF_TAP | IFF_NO_PI,
 *                  with IFF_VNET_HDR when asked), its fd kept open for the
 *                  VMM: the reference core's tap and vhost backends, QEMU
 *                  (-netdev tap,fd=N)
 *   HVB_LINK_VETH  a veth pair with both ends in the namespace: the
 *                  responder's end has the peer address, the other end
 *                  none; the native child joins the namespace (setns on
 *                  ns_fd) and binds AF_PACKET to it (netif=)
 *   HVB_LINK_ADOPT no interface of its own: hvb_netns_adopt moves one in
 *                  (Xen: dom0's vifN.0, created by xl)
 *
 * Names: HVB_NETNS_PREFIX<pid>-<n>, so that a later run finds a killed
 * run's leftovers (the pid is gone) and removes them, saying so; removal
 * also happens on failure and from the signal path (hvb_netns_destroy is
 * async-signal-safe enough for it: no allocation).
 *
 * Addresses (one link per namespace, so the same ones every time):
 * the responder side HVB_NET_PEER_IP with HVB_NET_PEER_MAC on its
 * interface, the measured side HVB_NET_GUEST_IP / HVB_NET_GUEST_MAC, put in
 * the responder side's neighbour table (permanent), IPv6 off on the link
 * (no router solicitations in the measurements).  Needs root (CAP_NET_ADMIN
 * and CAP_SYS_ADMIN) and /dev/net/tun for taps: without them create fails
 * with a reason that says what is missing.
 */
#ifndef HVB_RUNNERS_NETNS_H
#define HVB_RUNNERS_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HVB_NETNS_PREFIX "hvb-"
#define HVB_NET_PEER_IP	 0x0a4e0001u /* 10.78.0.1: the responder */
#define HVB_NET_GUEST_IP 0x0a4e0002u /* 10.78.0.2: the workload */
#define HVB_NET_PREFIX_LEN 30
#define HVB_NET_PEER_MAC  { 0x02, 0x68, 0x76, 0x62, 0x00, 0x01 }
#define HVB_NET_GUEST_MAC { 0x02, 0x68, 0x76, 0x62, 0x00, 0x02 }

enum hvb_link_kind { HVB_LINK_TAP, HVB_LINK_VETH, HVB_LINK_ADOPT };

struct hvb_netns {
	char name[32];	       /* namespace, "hvb-<pid>-<n>" */
	int ns_fd;	       /* open /run/netns/<name> (setns), -1 when none */
	enum hvb_link_kind kind;
	char peer_if[16];      /* the responder's interface in the namespace */
	char guest_if[16];     /* VETH: the measured end (netif=); TAP: = peer_if */
	int tap_fd;	       /* TAP: the open tap, O_NONBLOCK, else -1 */
	bool vnet_hdr;	       /* TAP: IFF_VNET_HDR with header size 12 */
	uint8_t guest_mac[6], peer_mac[6];
	uint32_t guest_ip, peer_ip; /* host byte order */
	uint16_t guest_port, peer_port;
	unsigned txqueuelen;   /* of the responder's interface, for meta (0: unknown) */
};

/* Fill names, addresses and ports as hvb_netns_create would, without
 * creating anything (a link the VMM makes itself: the words).  name is
 * set, so hvb_netns_destroy would remove /run/netns/<name>: do not call it
 * on a struct only initialised here unless create succeeded. */
void hvb_netns_init(struct hvb_netns *ns, enum hvb_link_kind kind, bool vnet_hdr);
/* Create the namespace and its link.  0, or -errno with why filled (what
 * is missing and what to do). */
int hvb_netns_create(struct hvb_netns *ns, enum hvb_link_kind kind, bool vnet_hdr, char *why,
		     size_t len);
/* HVB_LINK_ADOPT: move interface ifname (in hvbench's namespace) into ns,
 * give it the peer address and the guest's neighbour entry, bring it up. */
int hvb_netns_adopt(struct hvb_netns *ns, const char *ifname, char *why, size_t len);
/* Remove the namespace (its interfaces go with it), close the fds.  Safe
 * twice and on a zeroed struct with ns_fd -1. */
void hvb_netns_destroy(struct hvb_netns *ns);
/* Remove the namespaces of hvbench runs whose process is gone; say(msg)
 * for each one removed.  Returns how many, or -errno. */
int hvb_netns_cleanup_stale(void (*say)(void *arg, const char *msg), void *arg);
/* The abi.h net.* words for this link, and netif= for VETH: a malloc'd
 * string, space separated, no leading space. */
char *hvb_netns_words(const struct hvb_netns *ns);
/* Run fn(arg) in the namespace on the calling thread (setns there and
 * back); returns fn's result, or -errno if the namespace cannot be
 * entered. */
int hvb_netns_call(const struct hvb_netns *ns, int (*fn)(void *arg), void *arg);

#endif
