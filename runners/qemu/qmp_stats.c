/*
 * KVM's per-vCPU statistics through QMP (qmp.h): QEMU 7.1+ answers
 * query-stats from the same KVM binary stats fd the kvm runner reads
 * (probes/kvm_stats.c), so qemu-kvm's exit rows have the same names.
 * The schema is read once; the values are then asked for by name, which
 * keeps each reply (and its round trip) small.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"
#include "util.h"

/* The schema's vcpu entry of provider kvm: its stats list, or -1. */
static int vcpu_schema(const struct qj_doc *d, int ret)
{
	if (ret < 0 || d->n[ret].type != QJ_ARR)
		return -1;
	for (int e = d->n[ret].first; e >= 0; e = d->n[e].next)
		if (qj_str_is(d, qj_get(d, e, "provider"), "kvm") &&
		    qj_str_is(d, qj_get(d, e, "target"), "vcpu"))
			return qj_get(d, e, "stats");
	return -1;
}

int qmp_stats_from_schema(struct qmp_stats *s, const struct qj_doc *d, int ret)
{
	int list = vcpu_schema(d, ret);

	memset(s, 0, sizeof(*s));
	if (list < 0)
		return -ENOENT;
	if (d->n[list].type != QJ_ARR)
		return -EPROTO;
	for (int e = d->n[list].first; e >= 0; e = d->n[e].next) {
		int name = qj_get(d, e, "name");
		if (!qj_str_is(d, qj_get(d, e, "type"), "cumulative"))
			continue; /* instant/peak levels and histograms are no deltas */
		if (name < 0 || d->n[name].type != QJ_STR || !d->n[name].len ||
		    d->n[name].len >= QMP_STAT_NAME || memchr(d->n[name].s, '\\', d->n[name].len))
			return qmp_stats_free(s), -EPROTO;
		void *grown = realloc(s->name, (s->n + 1) * sizeof(*s->name));
		if (!grown)
			return qmp_stats_free(s), -ENOMEM;
		s->name = grown;
		memcpy(s->name[s->n], d->n[name].s, d->n[name].len);
		s->name[s->n][d->n[name].len] = '\0';
		s->n++;
	}
	s->val = xcalloc(s->n ? s->n : 1, sizeof(*s->val));
	return s->n ? 0 : -ENOENT;
}

/* Add one vCPU's stats list to s->val: every stat of s must be there. */
static int add_vcpu(struct qmp_stats *s, const struct qj_doc *d, int stats, char *why, size_t len)
{
	for (unsigned i = 0; i < s->n; i++) {
		int e, v = -1;
		for (e = d->n[stats].first; e >= 0; e = d->n[e].next)
			if (qj_str_is(d, qj_get(d, e, "name"), s->name[i]))
				break;
		if (e >= 0)
			v = qj_get(d, e, "value");
		if (v < 0 || d->n[v].type != QJ_NUM || !d->n[v].is_uint) {
			snprintf(why, len, "query-stats: %s %s", s->name[i],
				 v < 0 ? "missing" : "not an unsigned integer");
			return -EPROTO;
		}
		s->val[i] += d->n[v].u;
	}
	return 0;
}

int qmp_stats_values(struct qmp_stats *s, const struct qj_doc *d, int ret, char *why, size_t len)
{
	unsigned vcpus = 0;
	int r;

	memset(s->val, 0, s->n * sizeof(*s->val));
	if (ret < 0 || d->n[ret].type != QJ_ARR) {
		snprintf(why, len, "query-stats: the reply is not a list");
		return -EPROTO;
	}
	/* One element per vCPU and provider: {provider, stats:[...], qom-path}. */
	for (int t = d->n[ret].first; t >= 0; t = d->n[t].next) {
		int stats = qj_get(d, t, "stats");
		if (!qj_str_is(d, qj_get(d, t, "provider"), "kvm") || stats < 0 ||
		    d->n[stats].type != QJ_ARR)
			continue;
		if ((r = add_vcpu(s, d, stats, why, len)))
			return r;
		vcpus++;
	}
	if (!vcpus) {
		snprintf(why, len, "query-stats: no vCPU reported kvm statistics");
		return -ENOENT;
	}
	return 0;
}

void qmp_stats_free(struct qmp_stats *s)
{
	free(s->name);
	free(s->val);
	memset(s, 0, sizeof(*s));
}

char *qmp_stats_command(const struct qmp_stats *s)
{
	size_t cap = 160 + s->n * (QMP_STAT_NAME + 3), o;
	char *c = xmalloc(cap);

	o = (size_t)snprintf(c, cap, "{\"execute\":\"query-stats\",\"arguments\":{\"target\":"
				     "\"vcpu\",\"providers\":[{\"provider\":\"kvm\",\"names\":[");
	for (unsigned i = 0; i < s->n; i++)
		o += (size_t)snprintf(c + o, cap - o, "%s\"%s\"", i ? "," : "", s->name[i]);
	snprintf(c + o, cap - o, "]}]}}");
	return c;
}
