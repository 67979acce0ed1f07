/*
 * The run's network namespace and link (netns.h).
 *
 * The namespace is made the way `ip netns add` makes one, so that `ip
 * netns list/exec` see it: a file /run/netns/NAME on a shared mount, the
 * calling thread unshare(CLONE_NEWNET)s, bind-mounts its new namespace
 * onto the file and setns()es back.  The link is configured with
 * rtnetlink directly (a NETLINK_ROUTE socket opened inside the namespace),
 * not by running ip(8): no fork/exec per job, errors come back as errno
 * values we can explain, and nothing depends on the ip binary's version or
 * on PATH.  Removal is umount + unlink of the file: the interfaces go with
 * the namespace once nothing holds it (the tap fd, the responder), and it
 * needs no allocation, so a failure or signal path can call it.
 */
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvb/netproto.h"
#include "netns.h"
#include "util.h"

#define NETNS_DIR "/run/netns"
#define TAP_IF	  "hvbtap0"
#define PEER_IF	  "hvbpeer0"
#define GUEST_IF  "hvbguest0"
#define VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 */

static unsigned netns_seq;

/* name: at most 31 bytes (struct hvb_netns.name). */
static void netns_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, NETNS_DIR "/%.31s", name);
}

/* ------------------------------------------------------------ rtnetlink */

struct nlreq {
	struct nlmsghdr h;
	char buf[1024];
};

static void *nl_tail(struct nlreq *q)
{
	return (char *)q + NLMSG_ALIGN(q->h.nlmsg_len);
}

static void nl_init(struct nlreq *q, uint16_t type, uint16_t flags, const void *body,
		    size_t len)
{
	memset(q, 0, sizeof(*q));
	q->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	q->h.nlmsg_type = type;
	q->h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	memcpy(q->buf, body, len); /* NLMSG_DATA: the header is 16 aligned bytes */
}

static struct rtattr *nl_attr(struct nlreq *q, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a = nl_tail(q);

	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	q->h.nlmsg_len = NLMSG_ALIGN(q->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nl_nest_end(struct nlreq *q, struct rtattr *nest)
{
	nest->rta_len = (uint16_t)((char *)nl_tail(q) - (char *)nest);
}

/* Send one request and wait for its acknowledgement: 0 or -errno. */
static int nl_talk(struct nlreq *q)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	char reply[4096];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), r = -EIO;
	ssize_t n;

	if (fd < 0)
		return -errno;
	q->h.nlmsg_seq = 1;
	if (sendto(fd, q, q->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(fd, reply, sizeof(reply), 0);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, (unsigned)n);
	     h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			r = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			break;
		}
	}
out:
	close(fd);
	return r;
}

/* Bring ifindex up, optionally setting its MAC (NULL: leave it). */
static int link_set(int ifindex, const uint8_t *mac, int ns_fd)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nlreq q;

	if (ns_fd < 0)
		ifi.ifi_flags = ifi.ifi_change = IFF_UP;
	nl_init(&q, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	if (mac)
		nl_attr(&q, IFLA_ADDRESS, mac, 6);
	if (ns_fd >= 0)
		nl_attr(&q, IFLA_NET_NS_FD, &ns_fd, sizeof(ns_fd));
	return nl_talk(&q);
}

static int link_up(const char *ifname, const uint8_t *mac)
{
	int ifindex = (int)if_nametoindex(ifname);

	return ifindex ? link_set(ifindex, mac, -1) : -ENODEV;
}

static int add_veth(const char *name, const uint8_t *mac, const char *peer,
		    const uint8_t *peer_mac)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct rtattr *info, *data, *pa;
	struct nlreq q;

	nl_init(&q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
	nl_attr(&q, IFLA_IFNAME, name, strlen(name) + 1);
	nl_attr(&q, IFLA_ADDRESS, mac, 6);
	info = nl_attr(&q, IFLA_LINKINFO, NULL, 0);
	nl_attr(&q, IFLA_INFO_KIND, "veth", 4);
	data = nl_attr(&q, IFLA_INFO_DATA, NULL, 0);
	pa = nl_attr(&q, VETH_INFO_PEER, &ifi, sizeof(ifi));
	nl_attr(&q, IFLA_IFNAME, peer, strlen(peer) + 1);
	nl_attr(&q, IFLA_ADDRESS, peer_mac, 6);
	nl_nest_end(&q, pa);
	nl_nest_end(&q, data);
	nl_nest_end(&q, info);
	return nl_talk(&q);
}

static int add_addr(int ifindex, uint32_t ip, unsigned prefix)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (uint8_t)prefix,
				 .ifa_index = (uint32_t)ifindex };
	uint32_t be = htonl(ip);
	struct nlreq q;

	nl_init(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_attr(&q, IFA_LOCAL, &be, 4);
	nl_attr(&q, IFA_ADDRESS, &be, 4);
	return nl_talk(&q);
}

/* A permanent neighbour entry: the responder never ARPs for the guest. */
static int add_neigh(int ifindex, uint32_t ip, const uint8_t *mac)
{
	struct ndmsg nd = { .ndm_family = AF_INET, .ndm_ifindex = ifindex,
			    .ndm_state = NUD_PERMANENT };
	uint32_t be = htonl(ip);
	struct nlreq q;

	nl_init(&q, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, &nd, sizeof(nd));
	nl_attr(&q, NDA_DST, &be, 4);
	nl_attr(&q, NDA_LLADDR, mac, 6);
	return nl_talk(&q);
}

/* ------------------------------------------------------------ in the namespace */

/* /proc/sys/net is the opening thread's namespace's.  Absent without
 * IPv6 in the kernel, which is as good as off. */
static int ipv6_off(const char *ifname)
{
	char path[96];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (write(fd, "1", 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

static unsigned txqueuelen(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned q = 0;

	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFTXQLEN, &ifr))
		q = (unsigned)ifr.ifr_qlen;
	close(fd);
	return q;
}

/*
 * The responder's end must send finished checksums: a veth (or vif)
 * offloads them by default (CHECKSUM_PARTIAL: the UDP checksum field holds
 * only the pseudo-header sum), and whatever reads the frames on the other
 * side, the native child's AF_PACKET socket like a guest without
 * offloads, checks the sum of the bytes it gets.  `ethtool -K IF tx off`.
 * A tap offers no offloads unless TUNSETOFFLOAD asks: nothing to do there.
 */
static int tx_csum_off(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	r = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
	close(fd);
	return r;
}

struct setup {
	struct hvb_netns *ns;
	const char *step; /* what failed */
};

#define STEP(s, what, call)                                                                \
	do {                                                                               \
		int r_ = (call);                                                           \
		if (r_) {                                                                  \
			(s)->step = (what);                                                \
			return r_;                                                         \
		}                                                                          \
	} while (0)

static int open_tap(struct setup *s)
{
	struct hvb_netns *ns = s->ns;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int hdr = VNET_HDR_LEN;

	if (ns->vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), TAP_IF);
	ns->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	STEP(s, "open /dev/net/tun", ns->tap_fd < 0 ? -errno : 0);
	STEP(s, "TUNSETIFF", ioctl(ns->tap_fd, TUNSETIFF, &ifr) ? -errno : 0);
	if (ns->vnet_hdr)
		STEP(s, "TUNSETVNETHDRSZ", ioctl(ns->tap_fd, TUNSETVNETHDRSZ, &hdr) ? -errno : 0);
	return 0;
}

/* The responder's side: address, the guest's neighbour entry, up. */
static int peer_side(struct setup *s)
{
	struct hvb_netns *ns = s->ns;
	int ifindex = (int)if_nametoindex(ns->peer_if);

	STEP(s, "find the responder's interface", ifindex ? 0 : -ENODEV);
	STEP(s, "turn IPv6 off on the link", ipv6_off(ns->peer_if));
	STEP(s, "bring the responder's interface up", link_up(ns->peer_if, ns->peer_mac));
	STEP(s, "give the responder's interface its address",
	     add_addr(ifindex, ns->peer_ip, HVB_NET_PREFIX_LEN));
	STEP(s, "add the guest's neighbour entry", add_neigh(ifindex, ns->guest_ip, ns->guest_mac));
	if (ns->kind != HVB_LINK_TAP)
		STEP(s, "turn transmit checksum offload off on the responder's interface",
		     tx_csum_off(ns->peer_if));
	ns->txqueuelen = txqueuelen(ns->peer_if);
	return 0;
}

/* An adopted interface (a Xen vif) gets the responder's side as it is:
 * our peer MAC (the guest's net.peer_mac), address, neighbour entry. */
static int adopted(void *arg)
{
	return peer_side(arg);
}

static int configure(void *arg)
{
	struct setup *s = arg;
	struct hvb_netns *ns = s->ns;

	/* New interfaces inherit "default": no router solicitation, ever. */
	STEP(s, "turn IPv6 off in the namespace", ipv6_off("default"));
	STEP(s, "turn IPv6 off in the namespace", ipv6_off("all"));
	STEP(s, "bring lo up", link_up("lo", NULL));
	switch (ns->kind) {
	case HVB_LINK_TAP:
		STEP(s, "create the tap", open_tap(s));
		break;
	case HVB_LINK_VETH:
		STEP(s, "create the veth pair",
		     add_veth(ns->peer_if, ns->peer_mac, ns->guest_if, ns->guest_mac));
		STEP(s, "turn IPv6 off on the link", ipv6_off(ns->guest_if));
		STEP(s, "bring the measured end up", link_up(ns->guest_if, NULL));
		break;
	case HVB_LINK_ADOPT:
		return 0; /* hvb_netns_adopt brings the interface */
	}
	return peer_side(s);
}

/* ------------------------------------------------------------ the namespace */

/* /run/netns a shared mount point, as ip(8) makes it, so that a mount on
 * a file in it shows in every mount namespace. */
static int shared_netns_dir(void)
{
	if (mkdir(NETNS_DIR, 0755) && errno != EEXIST)
		return -errno;
	if (!mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL))
		return -errno;
	return mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) ? -errno : 0;
}

/* A new namespace, bound to path, entered by this thread only briefly. */
static int new_netns(const char *path)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), r = 0, fd;

	if (self < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0) {
		r = -errno;
		close(self);
		return r;
	}
	close(fd);
	if (unshare(CLONE_NEWNET))
		r = -errno;
	else if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL))
		r = -errno;
	if (setns(self, CLONE_NEWNET) && !r)
		r = -errno;
	close(self);
	if (r) {
		umount2(path, MNT_DETACH);
		unlink(path);
	}
	return r;
}

int hvb_netns_call(const struct hvb_netns *ns, int (*fn)(void *arg), void *arg)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), r;

	if (self < 0)
		return -errno;
	if (ns->ns_fd < 0 || setns(ns->ns_fd, CLONE_NEWNET)) {
		r = ns->ns_fd < 0 ? -EBADF : -errno;
		close(self);
		return r;
	}
	r = fn(arg);
	if (setns(self, CLONE_NEWNET))
		abort(); /* this thread would go on in the wrong namespace */
	close(self);
	return r;
}

void hvb_netns_init(struct hvb_netns *ns, enum hvb_link_kind kind, bool vnet_hdr)
{
	static const uint8_t peer_mac[6] = HVB_NET_PEER_MAC, guest_mac[6] = HVB_NET_GUEST_MAC;

	memset(ns, 0, sizeof(*ns));
	ns->ns_fd = ns->tap_fd = -1;
	ns->kind = kind;
	ns->vnet_hdr = kind == HVB_LINK_TAP && vnet_hdr;
	snprintf(ns->name, sizeof(ns->name), HVB_NETNS_PREFIX "%d-%u", (int)getpid(),
		 __atomic_fetch_add(&netns_seq, 1, __ATOMIC_RELAXED));
	snprintf(ns->peer_if, sizeof(ns->peer_if), "%s", kind == HVB_LINK_TAP ? TAP_IF : PEER_IF);
	snprintf(ns->guest_if, sizeof(ns->guest_if), "%s",
		 kind == HVB_LINK_VETH ? GUEST_IF : ns->peer_if);
	memcpy(ns->peer_mac, peer_mac, 6);
	memcpy(ns->guest_mac, guest_mac, 6);
	ns->peer_ip = HVB_NET_PEER_IP;
	ns->guest_ip = HVB_NET_GUEST_IP;
	ns->peer_port = HVB_NET_PEER_PORT;
	ns->guest_port = HVB_NET_PORT;
}

/* What a failure means for the user. */
static const char *advice(int e, const char *step)
{
	if (e == -EPERM || e == -EACCES)
		return "needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run hvbench as root";
	if (!strcmp(step, "open /dev/net/tun") && (e == -ENOENT || e == -ENODEV))
		return "no tun driver: modprobe tun (/dev/net/tun)";
	if (!strcmp(step, "create the veth pair") && e == -EOPNOTSUPP)
		return "no veth driver: modprobe veth";
	return "see the kernel's log";
}

int hvb_netns_create(struct hvb_netns *ns, enum hvb_link_kind kind, bool vnet_hdr, char *why,
		     size_t len)
{
	struct setup s = { .ns = ns, .step = "" };
	char path[80];
	int r;

	hvb_netns_init(ns, kind, vnet_hdr);
	netns_path(ns->name, path, sizeof(path));
	if ((r = shared_netns_dir())) {
		snprintf(why, len, "cannot prepare %s: %s (%s)", NETNS_DIR, strerror(-r),
			 advice(r, ""));
		return r;
	}
	if ((r = new_netns(path))) {
		snprintf(why, len, "cannot create network namespace %s: %s (%s)", ns->name,
			 strerror(-r), advice(r, ""));
		return r;
	}
	ns->ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns->ns_fd < 0) {
		r = -errno;
		snprintf(why, len, "cannot open %s: %s", path, strerror(-r));
		hvb_netns_destroy(ns);
		return r;
	}
	r = hvb_netns_call(ns, configure, &s);
	if (r) {
		snprintf(why, len, "network namespace %s: cannot %s: %s (%s)", ns->name, s.step,
			 strerror(-r), advice(r, s.step));
		hvb_netns_destroy(ns);
	}
	return r;
}

int hvb_netns_adopt(struct hvb_netns *ns, const char *ifname, char *why, size_t len)
{
	struct setup s = { .ns = ns, .step = "" };
	int ifindex = (int)if_nametoindex(ifname), r;

	if (!ifindex || strlen(ifname) >= sizeof(ns->peer_if)) {
		snprintf(why, len, "no interface %s to move into %s", ifname, ns->name);
		return -ENODEV;
	}
	if ((r = link_set(ifindex, NULL, ns->ns_fd))) {
		snprintf(why, len, "cannot move %s into network namespace %s: %s (%s)", ifname,
			 ns->name, strerror(-r), advice(r, ""));
		return r;
	}
	snprintf(ns->peer_if, sizeof(ns->peer_if), "%s", ifname);
	snprintf(ns->guest_if, sizeof(ns->guest_if), "%s", ifname);
	r = hvb_netns_call(ns, adopted, &s);
	if (r)
		snprintf(why, len, "network namespace %s: cannot %s of %s: %s", ns->name, s.step,
			 ifname, strerror(-r));
	return r;
}

static void remove_netns(const char *name)
{
	char path[80];

	netns_path(name, path, sizeof(path));
	umount2(path, MNT_DETACH);
	unlink(path);
}

void hvb_netns_destroy(struct hvb_netns *ns)
{
	/* name[0]: made by hvb_netns_create, so tap_fd is -1 or ours (a
	 * zeroed struct's 0 is not). */
	if (ns->name[0] && ns->tap_fd >= 0)
		close(ns->tap_fd);
	ns->tap_fd = -1;
	if (ns->name[0] && ns->ns_fd >= 0)
		close(ns->ns_fd);
	if (ns->name[0])
		remove_netns(ns->name);
	ns->ns_fd = -1;
	ns->name[0] = '\0';
}

/* "hvb-<pid>-<n>": the pid, or 0 for a name that is not hvbench's. */
static pid_t owner_pid(const char *name)
{
	const char *p = name + strlen(HVB_NETNS_PREFIX);
	char *end;
	long pid;

	if (strlen(name) >= sizeof(((struct hvb_netns *)0)->name) ||
	    strncmp(name, HVB_NETNS_PREFIX, strlen(HVB_NETNS_PREFIX)) || *p < '1' || *p > '9')
		return 0;
	pid = strtol(p, &end, 10);
	if (*end != '-' || pid <= 0 || pid > 0x3fffffff)
		return 0;
	for (p = end + 1; *p >= '0' && *p <= '9'; p++)
		;
	return p == end + 1 || *p ? 0 : (pid_t)pid;
}

int hvb_netns_cleanup_stale(void (*say)(void *arg, const char *msg), void *arg)
{
	DIR *d = opendir(NETNS_DIR);
	struct dirent *e;
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		pid_t pid = owner_pid(e->d_name);
		char msg[200], path[80];

		if (!pid || pid == getpid() || !kill(pid, 0) || errno != ESRCH)
			continue;
		netns_path(e->d_name, path, sizeof(path));
		umount2(path, MNT_DETACH);
		if (unlink(path) && errno != ENOENT) {
			snprintf(msg, sizeof(msg),
				 "cannot remove network namespace %.31s left by hvbench pid %d: %s",
				 e->d_name, (int)pid, strerror(errno));
		} else {
			snprintf(msg, sizeof(msg),
				 "removed network namespace %.31s left by hvbench pid %d (no longer "
				 "running: killed?)",
				 e->d_name, (int)pid);
			n++;
		}
		if (say)
			say(arg, msg);
	}
	closedir(d);
	return n;
}

static void fmt_mac(char *buf, size_t len, const uint8_t *m)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void fmt_ip(char *buf, size_t len, uint32_t ip)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

char *hvb_netns_words(const struct hvb_netns *ns)
{
	char mac[18], peer_mac[18], ip[16], peer_ip[16];

	fmt_mac(mac, sizeof(mac), ns->guest_mac);
	fmt_mac(peer_mac, sizeof(peer_mac), ns->peer_mac);
	fmt_ip(ip, sizeof(ip), ns->guest_ip);
	fmt_ip(peer_ip, sizeof(peer_ip), ns->peer_ip);
	return xasprintf("net.mac=%s net.ip=%s net.peer_mac=%s net.peer_ip=%s net.port=%u "
			 "net.peer_port=%u%s%s",
			 mac, ip, peer_mac, peer_ip, ns->guest_port, ns->peer_port,
			 ns->kind == HVB_LINK_VETH ? " netif=" : "",
			 ns->kind == HVB_LINK_VETH ? ns->guest_if : "");
}
