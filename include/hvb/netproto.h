/*
 * hvbench net/ protocol, version 1: what the net/ workloads (in a guest or
 * the native child) and the responder on the host side of the link
 * (runners/common/peer.c, in hvbench's namespace or dom0) say to each
 * other.  Self-contained: freestanding workloads and the hosted responder
 * include it alike.
 *
 * Transport: UDP over IPv4 through the responder side's real kernel stack.
 * The workload builds whole Ethernet frames itself (no TCP/IP stack in the
 * guest: static addresses from the abi.h net.* words, no ARP: the runner
 * puts the workload's MAC in the responder side's neighbour table).  Every
 * UDP payload starts with struct hvb_net_hdr, little-endian.
 *
 * Frame sizes are Ethernet frames without FCS: "64 B" is 14 + 20 + 8
 * bytes of headers and HVB_NET_PAYLOAD_64 of UDP payload, so the header
 * below must fit in that; "1500 B" is a full MTU: 1514-byte frames with
 * HVB_NET_PAYLOAD_MTU bytes of UDP payload.
 *
 * Sequence numbers count 0, 1, 2, ... per session and direction, so that
 * loss and reordering are counted by whoever receives, never hidden.  A
 * session is a number the workload picks per cell and repetition
 * (HVB_NET_RESET starts one); datagrams of another session are stale
 * (late replies of an earlier batch) and are counted as such, not as data.
 */
#ifndef HVB_NETPROTO_H
#define HVB_NETPROTO_H

#include <stdint.h>

#define HVB_NET_MAGIC	  0x4e48u /* "HN" as a little-endian uint16 */
#define HVB_NET_VERSION	  1u
#define HVB_NET_PEER_PORT 47101u /* the responder's UDP port (net.peer_port default) */
#define HVB_NET_PORT	  47102u /* the workload's UDP port (net.port default) */

#define HVB_NET_ETH_HDR	     14u
#define HVB_NET_IP_HDR	     20u /* no options */
#define HVB_NET_UDP_HDR	     8u
#define HVB_NET_HDRS	     (HVB_NET_ETH_HDR + HVB_NET_IP_HDR + HVB_NET_UDP_HDR)
#define HVB_NET_MTU	     1500u
#define HVB_NET_FRAME_MAX    (HVB_NET_ETH_HDR + HVB_NET_MTU) /* 1514 */
#define HVB_NET_PAYLOAD_64   (64u - HVB_NET_HDRS)	     /* 22 */
#define HVB_NET_PAYLOAD_MTU  (HVB_NET_FRAME_MAX - HVB_NET_HDRS) /* 1472 */

enum hvb_net_type {
	/* workload -> responder */
	HVB_NET_ECHO = 1,   /* send this datagram back, header and payload as they are
			     * (type stays ECHO): request/response */
	HVB_NET_SINK = 2,   /* count it (rx_* of the session), send nothing back */
	HVB_NET_STREAM = 3, /* send hvb_net_ctl.count datagrams of hvb_net_ctl.size
			     * payload bytes back, type DATA, seq 0..count-1, at
			     * hvb_net_ctl.rate per second (0: as fast as it can),
			     * then one STATS */
	HVB_NET_STATS = 4,  /* answer with STATS: the session's counters */
	HVB_NET_RESET = 5,  /* start session hdr.session: zero the counters, answer
			     * with STATS */
	/* responder -> workload */
	HVB_NET_DATA = 6,   /* one datagram of a STREAM */
};

/* At the start of every UDP payload: 20 bytes, fits a 64 B frame. */
struct hvb_net_hdr {
	uint16_t magic;	  /* HVB_NET_MAGIC */
	uint8_t version;  /* HVB_NET_VERSION */
	uint8_t type;	  /* enum hvb_net_type */
	uint32_t session; /* the workload's session (echoed) */
	uint32_t seq;	  /* sender's sequence number in this session (echoed) */
	uint64_t stamp;	  /* sender's TSC (echoed; opaque to the responder) */
} __attribute__((packed));

/* After the header of STREAM, STATS and RESET (their frames are larger
 * than 64 B; that is fine, they are not timed). */
struct hvb_net_ctl {
	/* STREAM request */
	uint32_t count; /* datagrams to send */
	uint32_t size;	/* UDP payload bytes each: sizeof(struct hvb_net_hdr) ..
			 * HVB_NET_PAYLOAD_MTU; else the responder answers STATS
			 * with rx_bad counted and sends nothing */
	uint32_t rate;	/* datagrams per second, 0 = unpaced */
	uint32_t flags; /* 0 */
	/* STATS answer: since the session's RESET, what the responder got
	 * (ECHO and SINK datagrams of this session) and sent */
	uint64_t rx_datagrams; /* of this session, distinct sequence numbers or not */
	uint64_t rx_bytes;     /* their UDP payload bytes */
	uint64_t rx_reordered; /* arrived with a seq below the highest seen */
	uint64_t rx_stale;     /* datagrams of another session */
	uint64_t rx_bad;       /* not this protocol (magic, version, type, length) */
	uint64_t tx_datagrams; /* ECHO answers and DATA sent */
	uint64_t tx_errors;    /* sends the responder's kernel refused (ENOBUFS...) */
} __attribute__((packed));

#endif /* HVB_NETPROTO_H */
