/*
 * The migration spec (migrate_cfg.h).
 */
#include "migrate_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX 256

void hvb_mig_cfg_default(struct hvb_mig_cfg *m)
{
	*m = (struct hvb_mig_cfg){.on = true, .dirty = HV_DIRTY_LOG, .downtime_ms = 30,
				  .rounds = 10, .after_ms = 300};
}

static int number(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *out,
		  char *err, size_t len)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (*v && !*end && !errno && *v != '-' && n >= min && n <= max) {
		*out = n;
		return 0;
	}
	snprintf(err, len, "migration spec: %s=%s is not a whole number from %llu to %llu", key, v,
		 (unsigned long long)min, (unsigned long long)max);
	return -EINVAL;
}

static int set_key(struct hvb_mig_cfg *m, const char *key, const char *v, char *err, size_t len)
{
	uint64_t n;
	int r;

	if (!strcmp(key, "dirty")) {
		if (hv_dirty_mode_parse(v, &m->dirty))
			return 0;
		snprintf(err, len, "migration spec: dirty=%s: give log, clear or ring", v);
		return -EINVAL;
	}
	if (!strcmp(key, "bw_mib"))
		return number(key, v, 0, 1u << 20, &m->bw_mib, err, len);
	if (!strcmp(key, "downtime_ms"))
		return number(key, v, 0, 600000, &m->downtime_ms, err, len);
	if (!strcmp(key, "after_ms"))
		return number(key, v, 0, 600000, &m->after_ms, err, len);
	if (!strcmp(key, "rounds")) {
		if (!(r = number(key, v, 1, 1000, &n, err, len)))
			m->rounds = (unsigned)n;
		return r;
	}
	snprintf(err, len, "migration spec: unknown key '%s' (keys: dirty, bw_mib, downtime_ms, "
			   "rounds, after_ms)", key);
	return -EINVAL;
}

int hvb_mig_cfg_parse(const char *spec, struct hvb_mig_cfg *m, char *err, size_t len)
{
	char buf[SPEC_MAX], *save = NULL;
	int r = 0;

	hvb_mig_cfg_default(m);
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, len, "migration spec of %zu bytes: at most %d", strlen(spec), SPEC_MAX - 1);
		return -EINVAL;
	}
	if (!strcmp(spec, "1") || !*spec)
		return 0;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *kv = strtok_r(buf, ",", &save); kv && !r; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq) {
			snprintf(err, len, "migration spec: '%s' is not KEY=VALUE (e.g. bw_mib=100)",
				 kv);
			return -EINVAL;
		}
		*eq = '\0';
		r = set_key(m, kv, eq + 1, err, len);
	}
	return r;
}

void hvb_mig_cfg_format(const struct hvb_mig_cfg *m, char *buf, size_t len)
{
	snprintf(buf, len, "dirty=%s,bw_mib=%llu,downtime_ms=%llu,rounds=%u,after_ms=%llu",
		 hv_dirty_mode_name(m->dirty), (unsigned long long)m->bw_mib,
		 (unsigned long long)m->downtime_ms, m->rounds, (unsigned long long)m->after_ms);
}
