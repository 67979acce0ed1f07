/*
 * A polled xenstore client (xen_io.h) on the ring page the toolstack gave
 * the domain: one request at a time, no transactions, no watches (the
 * frontends poll the backend's state instead).  Requests go into req[],
 * replies come back in rsp[] (io/xs_wire.h); after each side moves an
 * index we send an event so xenstored looks, and while we wait we yield
 * the CPU so dom0 can answer (one physical CPU under Xen-in-QEMU).
 *
 * Below the client: what blkfront and netfront both need of a xenbus
 * handshake (keys under a directory, polling the other end's state, the
 * first device of a class).
 *
 * The ring: PVH from HVM_PARAM_STORE_PFN/EVTCHN (a page outside RAM that
 * rt_paging_init maps with the console page), PV from start_info.
 */
#include "pv.h"
#include "rt.h"
#include "workload.h"
#include "xen.h"
#include "xen_io.h"

#define RT_ENOENT 2
#define RT_EIO 5
#define RT_ENODEV 19
#define RT_EINVAL 22
#define RT_EACCES 13
#define RT_ETIMEDOUT 110
#define XS_TIMEOUT_S 60 /* a reply under Xen-in-QEMU can take seconds */

static struct xs_ring *ring;
static uint32_t port;
static uint32_t req_id;
static char reply[XS_PAYLOAD_MAX + 1];

int xs_init(const char **why)
{
	uint64_t pfn = 0, evtchn = 0;

	if (ring)
		return 0;
	if (rt_pv()) {
		ring = rt_pv()->store;
		port = rt_pv()->store_evtchn;
	} else if (!rt_xen_hvm_param(HVM_PARAM_STORE_PFN, &pfn) &&
		   !rt_xen_hvm_param(HVM_PARAM_STORE_EVTCHN, &evtchn) && pfn &&
		   pfn < (1ull << 20)) {
		ring = (struct xs_ring *)(uintptr_t)(pfn << 12);
		port = (uint32_t)evtchn;
	}
	if (!ring) {
		*why = "Xen: the domain has no xenstore ring (HVM_PARAM_STORE_PFN / start_info)";
		return -RT_EIO;
	}
	return 0;
}

static uint64_t deadline(void)
{
	return rt_tsc_begin() + (uint64_t)XS_TIMEOUT_S * 1000 * rt_tsc_khz();
}

static void wait_a_little(void)
{
	xen_evtchn_send(port);
	rt_xen_hypercall(XEN_HC_SCHED_OP, SCHEDOP_YIELD, 0);
}

static int send_msg(const char *msg, size_t n, uint64_t until)
{
	while (n) {
		uint32_t cons = ring->req_cons, prod = ring->req_prod;
		size_t put;

		rt_barrier();
		put = xen_ring_put(ring->req, XS_RING_SIZE, cons, &prod, msg, n);
		if (put) {
			rt_barrier(); /* the bytes before the index */
			ring->req_prod = prod;
			msg += put;
			n -= put;
		} else if (rt_tsc_begin() > until) {
			return -RT_ETIMEDOUT;
		}
		wait_a_little();
	}
	return 0;
}

/* Take n reply bytes into dst as they arrive. */
static int recv_bytes(void *dst, size_t n, uint64_t until)
{
	char *d = dst;

	while (n) {
		uint32_t cons = ring->rsp_cons, avail = xen_ring_avail(XS_RING_SIZE, cons, ring->rsp_prod);

		rt_barrier(); /* the index before the bytes */
		if (avail) {
			uint32_t take = avail < n ? avail : (uint32_t)n;

			xen_ring_get(ring->rsp, XS_RING_SIZE, &cons, d, take);
			rt_barrier();
			ring->rsp_cons = cons;
			xen_evtchn_send(port); /* xenstored may wait for room */
			d += take;
			n -= take;
			continue;
		}
		if (rt_tsc_begin() > until)
			return -RT_ETIMEDOUT;
		wait_a_little();
	}
	return 0;
}

/* xenstored's error string to -errno (the few a frontend meets). */
static int xs_errno(const char *s)
{
	static const struct {
		const char *name;
		int e;
	} map[] = {{"ENOENT", RT_ENOENT}, {"EACCES", RT_EACCES}, {"EINVAL", RT_EINVAL}};

	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		unsigned k = 0;

		while (map[i].name[k] && map[i].name[k] == s[k])
			k++;
		if (!map[i].name[k] && !s[k])
			return -map[i].e;
	}
	return -RT_EIO;
}

/* One request and its reply (in reply[], NUL-terminated): the reply's
 * payload length, or -errno. */
static int xs_call(uint32_t type, const char *path, const char *value)
{
	static char msg[sizeof(struct xs_msg_hdr) + XS_PAYLOAD_MAX];
	uint64_t until = deadline();
	struct xs_msg_hdr h;
	size_t n = xs_build(msg, sizeof(msg), type, ++req_id, path, value);
	int e;

	if (!ring)
		return -RT_EIO;
	if (!n)
		return -RT_EINVAL;
	e = send_msg(msg, n, until);
	for (;;) {
		if (e || (e = recv_bytes(&h, sizeof(h), until)))
			return e;
		if (h.len > XS_PAYLOAD_MAX)
			return -RT_EIO; /* cannot resynchronise a broken stream */
		if ((e = recv_bytes(reply, h.len, until)))
			return e;
		reply[h.len] = '\0';
		if (h.req_id == req_id)
			break;
		/* a watch event or a stale reply: not ours, skip it */
	}
	if (h.type == XS_ERROR)
		return xs_errno(reply);
	return h.type == type ? (int)h.len : -RT_EIO;
}

int xs_read(const char *path, char *buf, size_t len)
{
	int n = xs_call(XS_READ, path, NULL);

	if (n < 0)
		return n;
	if (!len || (size_t)n >= len)
		return -RT_EINVAL;
	for (int i = 0; i <= n; i++)
		buf[i] = reply[i];
	return n;
}

int xs_read_u64(const char *path, uint64_t *v)
{
	char buf[24];
	int n = xs_read(path, buf, sizeof(buf));
	uint64_t x = 0;

	if (n < 0)
		return n;
	if (!n)
		return -RT_EINVAL;
	for (int i = 0; i < n; i++) {
		if (buf[i] < '0' || buf[i] > '9' || x > (~0ull - 9) / 10)
			return -RT_EINVAL;
		x = x * 10 + (uint64_t)(buf[i] - '0');
	}
	*v = x;
	return 0;
}

int xs_write(const char *path, const char *value)
{
	int n = xs_call(XS_WRITE, path, value);

	return n < 0 ? n : 0;
}

int xs_directory(const char *path, char *buf, size_t len)
{
	int n = xs_call(XS_DIRECTORY, path, NULL);

	if (n < 0)
		return n;
	if ((size_t)n > len)
		return -RT_EINVAL;
	for (int i = 0; i < n; i++)
		buf[i] = reply[i];
	return n;
}

int xs_watch(const char *path, const char *token)
{
	int n = xs_call(XS_WATCH, path, token);

	return n < 0 ? n : 0;
}

bool xs_unsolicited(void)
{
	return ring && ring->rsp_prod != ring->rsp_cons;
}

void xs_drop_unsolicited(void)
{
	uint64_t until = deadline();
	struct xs_msg_hdr h;

	while (xs_unsolicited()) {
		if (recv_bytes(&h, sizeof(h), until) || h.len > XS_PAYLOAD_MAX ||
		    recv_bytes(reply, h.len, until))
			return;
	}
}

void xs_resume(void)
{
	if (!rt_pv() || !ring)
		return;
	ring = rt_pv()->store;
	port = rt_pv()->store_evtchn;
}

/* ------------------------------------------------------------ frontend helpers */

char *xs_path(char *out, size_t len, const char *dir, const char *key)
{
	char *p = rt_put_str(out, out + len - 1, dir);

	p = rt_put_str(p, out + len - 1, "/");
	p = rt_put_str(p, out + len - 1, key);
	*p = '\0';
	return out;
}

int xs_read_key(const char *dir, const char *key, uint64_t *v)
{
	char path[192];

	return xs_read_u64(xs_path(path, sizeof(path), dir, key), v);
}

int xs_write_key(const char *dir, const char *key, const char *value)
{
	char path[192];

	return xs_write(xs_path(path, sizeof(path), dir, key), value);
}

int xs_write_key_num(const char *dir, const char *key, uint64_t v)
{
	char num[24], *p = rt_put_dec(num, num + sizeof(num) - 1, v);

	*p = '\0';
	return xs_write_key(dir, key, num);
}

int xs_wait_state(const char *dir, uint64_t want, unsigned wait_s, uint64_t *state)
{
	uint64_t until = rt_tsc_begin() + (uint64_t)wait_s * 1000 * rt_tsc_khz();

	for (;;) {
		if (!xs_read_key(dir, "state", state) && *state >= want)
			return 0;
		if (rt_tsc_begin() > until)
			return -RT_ETIMEDOUT;
		rt_xen_hypercall(XEN_HC_SCHED_OP, SCHEDOP_YIELD, 0);
	}
}

int xs_first_device(const char *cls, struct xs_device *d)
{
	char dir[32], names[256], tmp[sizeof(d->be)];
	uint64_t id = 0, backend = 0;
	char *p = rt_put_str(dir, dir + sizeof(dir) - 1, "device/");
	int n;

	p = rt_put_str(p, dir + sizeof(dir) - 1, cls);
	*p = '\0';
	n = xs_directory(dir, names, sizeof(names) - 1);
	if (n <= 0)
		return -RT_ENODEV;
	names[n] = '\0';
	for (p = names; *p >= '0' && *p <= '9' && id < 0x10000; p++)
		id = id * 10 + (uint64_t)(*p - '0');
	if (p == names || *p || id >= 0x10000)
		return -RT_EINVAL;
	d->id = (uint16_t)id;
	p = rt_put_str(d->fe, d->fe + sizeof(d->fe) - 1, dir);
	p = rt_put_str(p, d->fe + sizeof(d->fe) - 1, "/");
	p = rt_put_dec(p, d->fe + sizeof(d->fe) - 1, id);
	*p = '\0';
	if (xs_read(xs_path(tmp, sizeof(tmp), d->fe, "backend"), d->be, sizeof(d->be)) <= 0 ||
	    xs_read_key(d->fe, "backend-id", &backend) || backend >= 0x7ff0)
		return -RT_ENOENT;
	d->backend = (uint16_t)backend;
	return 0;
}
