/*
 * One job's network link (netjob.h): namespace, responder, words, the
 * responder's CPU per repetition and the run's net.* meta keys.
 */
#include "netjob.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "hvb/abi.h"
#include "peer.h"
#include "records.h"
#include "util.h"
#include "workload.h"

bool hvb_job_needs_net(const struct hvb_job *job)
{
	for (size_t i = 0; i < job->n_workloads; i++) {
		const struct hvb_workload *w = hvb_workload_find(job->workloads[i]);

		if (w && (w->needs & HVB_CAP_NET))
			return true;
	}
	return false;
}

bool hvb_vhost_net_usable(char *why, size_t len)
{
	int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return true;
	}
	if (errno == ENOENT)
		snprintf(why, len, "no /dev/vhost-net: this kernel has no vhost-net (modprobe "
			 "vhost_net; the plain runner's tap backend needs none)");
	else
		snprintf(why, len, "/dev/vhost-net: %s (needs root or access to it)",
			 strerror(errno));
	return false;
}

int hvb_other_cpu(int cpu)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (c != cpu && CPU_ISSET(c, &set))
			return c;
	return -1;
}

static const char *link_name(enum hvb_link_kind k)
{
	return k == HVB_LINK_TAP ? "tap" : k == HVB_LINK_VETH ? "veth" : "vif";
}

/*
 * net.link of the run: the runners of a run use different links (native a
 * veth, kvm and QEMU a tap), so the key lists each kind with the runners
 * that used it, e.g. "veth (native); tap (kvm, qemu-kvm)".  One run per
 * process: the list lives as long as the process.
 */
static char link_runners[3][200];

static void note_link(const struct hvb_out *out, enum hvb_link_kind kind)
{
	char *l = link_runners[kind], all[700] = "";
	size_t n = strlen(out->runner);

	for (const char *p = strstr(l, out->runner); p; p = strstr(p + 1, out->runner))
		if ((p == l || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
			goto write;
	if (strlen(l) + n + 3 < sizeof(link_runners[kind]))
		snprintf(l + strlen(l), sizeof(link_runners[kind]) - strlen(l), "%s%s",
			 l[0] ? ", " : "", out->runner);
write:
	for (int k = 0; k < 3; k++)
		if (link_runners[k][0])
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s (%s)",
				 all[0] ? "; " : "", link_name((enum hvb_link_kind)k), link_runners[k]);
	hvb_sink_meta(out->sink, "net.link", all);
}

static void fmt_ip(char *buf, size_t len, uint32_t ip)
{
	snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

static void run_meta(const struct hvb_netjob *nj, const struct hvb_out *out)
{
	char ip[16], peer_ip[16], cpu[16] = "unpinned";

	fmt_ip(ip, sizeof(ip), nj->ns.guest_ip);
	fmt_ip(peer_ip, sizeof(peer_ip), nj->ns.peer_ip);
	hvb_sink_meta(out->sink, "net.guest_ip", ip);
	hvb_sink_meta(out->sink, "net.peer_ip", peer_ip);
	if (nj->reflect)
		return;
	if (nj->peer_cpu_nr >= 0)
		snprintf(cpu, sizeof(cpu), "cpu %d", nj->peer_cpu_nr);
	hvb_sink_metaf(out->sink, "net.netns",
		       HVB_NETNS_PREFIX "%d-<n>: one per job (log.txt names each), removed after it",
		       (int)getpid());
	note_link(out, nj->ns.kind);
	if (nj->ns.txqueuelen)
		hvb_sink_metaf(out->sink, "net.txqueuelen", "%u", nj->ns.txqueuelen);
	hvb_sink_metaf(out->sink, "net.peer",
		       "hvbench responder (runners/common/peer.c): a process per job in the job's "
		       "namespace, %s:%u UDP, %s; last pid %d",
		       peer_ip, nj->ns.peer_port, cpu, (int)hvb_peer_pid(nj->peer));
}

static int start_peer(struct hvb_netjob *nj, int job_cpu, char *why, size_t len)
{
	int r;

	nj->peer_cpu_nr = hvb_other_cpu(job_cpu);
	r = hvb_peer_start(&nj->ns, nj->peer_cpu_nr, &nj->peer, why, len);
	if (r)
		return r;
	hvb_hostcpu_init(&nj->peer_cpu, hvb_peer_pid(nj->peer), "the responder process");
	nj->peer_cpu.metric = "peer_cpu_ns_per_op";
	return 0;
}

static void clear(struct hvb_netjob *nj)
{
	memset(nj, 0, sizeof(*nj));
	nj->ns.ns_fd = nj->ns.tap_fd = -1;
	nj->peer_cpu_nr = -1;
}

/* Once per runner and run on stderr (every job logs it). */
static void say_off(struct hvb_netjob *nj, const struct hvb_out *out, const char *why)
{
	static char warned[8][32];

	snprintf(nj->off, sizeof(nj->off), "%s", why);
	hvb_out_log(out, "net: no link for this job: %s", why);
	for (unsigned i = 0; i < 8; i++) {
		if (!strcmp(warned[i], out->runner))
			return;
		if (!warned[i][0]) {
			snprintf(warned[i], sizeof(warned[i]), "%s", out->runner);
			break;
		}
	}
	hvb_warn("%s: net/ workloads skipped: %s", out->runner, why);
}

void hvb_netjob_refuse(struct hvb_netjob *nj, const struct hvb_job *job,
		       const struct hvb_out *out, const char *why)
{
	clear(nj);
	if (hvb_job_needs_net(job))
		say_off(nj, out, why);
}

int hvb_netjob_start(struct hvb_netjob *nj, const struct hvb_job *job, const struct hvb_out *out,
		     enum hvb_link_kind kind, bool vnet_hdr)
{
	char err[400], why[600], peer_ip[16];
	int r;

	clear(nj);
	if (!hvb_job_needs_net(job))
		return 0;
	r = hvb_netns_create(&nj->ns, kind, vnet_hdr, why, sizeof(why));
	if (r) {
		say_off(nj, out, why);
		return r;
	}
	nj->on = true;
	if (kind == HVB_LINK_ADOPT) {
		/* The interface comes with the domain: hvb_netjob_adopt. */
		nj->adopt_cpu = job->cpu;
		nj->words = hvb_netns_words(&nj->ns);
		hvb_out_log(out, "net: namespace %s, waiting for the interface to adopt", nj->ns.name);
		return 0;
	}
	if ((r = start_peer(nj, job->cpu, err, sizeof(err)))) {
		snprintf(why, sizeof(why), "cannot start the responder in %s: %s", nj->ns.name, err);
		hvb_netjob_stop(nj, out);
		say_off(nj, out, why);
		return r;
	}
	nj->words = hvb_netns_words(&nj->ns);
	fmt_ip(peer_ip, sizeof(peer_ip), nj->ns.peer_ip);
	hvb_out_log(out, "net: namespace %s, %s %s%s%s (txqueuelen %u), responder pid %d on %s:%u",
		    nj->ns.name, link_name(kind), nj->ns.peer_if,
		    kind == HVB_LINK_VETH ? " <-> " : "",
		    kind == HVB_LINK_VETH ? nj->ns.guest_if : "", nj->ns.txqueuelen,
		    (int)hvb_peer_pid(nj->peer), peer_ip, nj->ns.peer_port);
	run_meta(nj, out);
	return 0;
}

int hvb_netjob_adopt(struct hvb_netjob *nj, const struct hvb_out *out, const char *ifname)
{
	char err[400], why[600];
	int r;

	if (!nj->on || nj->ns.kind != HVB_LINK_ADOPT)
		return nj->on ? -EINVAL : 0;
	r = hvb_netns_adopt(&nj->ns, ifname, why, sizeof(why));
	if (!r && (r = start_peer(nj, nj->adopt_cpu, err, sizeof(err))))
		snprintf(why, sizeof(why), "cannot start the responder in %s: %s", nj->ns.name, err);
	if (r) {
		hvb_netjob_stop(nj, out);
		say_off(nj, out, why);
		return r;
	}
	hvb_out_log(out, "net: %s adopted into %s (txqueuelen %u), responder pid %d", ifname,
		    nj->ns.name, nj->ns.txqueuelen, (int)hvb_peer_pid(nj->peer));
	run_meta(nj, out);
	return 0;
}

const struct hvb_record *hvb_netjob_note_skip(const struct hvb_netjob *nj,
					      const struct hvb_record *rec,
					      struct hvb_record *copy)
{
	char name[sizeof(rec->workload) + 1];
	const struct hvb_workload *w;
	size_t n;

	if (!nj->off[0] || rec->type != HVB_REC_STATUS || rec->status != HVB_ST_SKIPPED)
		return rec;
	snprintf(name, sizeof(name), "%.*s", (int)sizeof(rec->workload), rec->workload);
	w = hvb_workload_find(name);
	if (!w || !(w->needs & HVB_CAP_NET))
		return rec;
	*copy = *rec;
	n = strnlen(copy->text, sizeof(copy->text));
	/* As much of the reason as the record's text holds, terminated. */
	for (const char *p = n ? "; net: " : "net: "; *p && n + 1 < sizeof(copy->text); p++)
		copy->text[n++] = *p;
	for (const char *p = nj->off; *p && n + 1 < sizeof(copy->text); p++)
		copy->text[n++] = *p;
	if (n < sizeof(copy->text))
		copy->text[n] = '\0';
	return copy;
}

void hvb_netjob_start_reflect(struct hvb_netjob *nj, const struct hvb_job *job,
			      const struct hvb_out *out)
{
	char *w;

	clear(nj);
	if (!hvb_job_needs_net(job))
		return;
	hvb_netns_init(&nj->ns, HVB_LINK_TAP, false);
	nj->ns.name[0] = '\0'; /* nothing to remove */
	nj->on = nj->reflect = true;
	w = hvb_netns_words(&nj->ns);
	nj->words = xasprintf("%s net.reflect=1", w);
	free(w);
	run_meta(nj, out);
}

void hvb_netjob_rep(struct hvb_netjob *nj, const struct hvb_out *out,
		    const struct hvb_record *rec, uint64_t ops, bool begin)
{
	if (!nj->on || !nj->peer || !hvb_hostcpu_wants_peer(rec->workload))
		return;
	if (begin)
		hvb_hostcpu_begin(&nj->peer_cpu);
	else
		hvb_hostcpu_end(&nj->peer_cpu, out, rec->workload, rec->rep, ops);
}

char *hvb_netjob_cmdline(const struct hvb_netjob *nj, const char *words)
{
	return nj->words ? xasprintf("%s %s", words, nj->words) : xstrdup(words);
}

void hvb_netjob_stop(struct hvb_netjob *nj, const struct hvb_out *out)
{
	char why[300] = "";

	if (!nj->on)
		return;
	if (nj->peer && !hvb_peer_stop(nj->peer, why, sizeof(why)) && out)
		hvb_out_log(out, "net: the responder had died during the job: %s", why);
	nj->peer = NULL;
	if (out && nj->ns.name[0])
		hvb_out_log(out, "net: namespace %s removed", nj->ns.name);
	hvb_netns_destroy(&nj->ns);
	free(nj->words);
	nj->words = NULL;
	nj->on = false;
}
