#include "guest.h"

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "util.h"
#include "workload.h"

char *hvb_guest_cmdline(const char *words, const struct hvb_guest_env *env)
{
	char dev[48] = "", mmio[40] = "";

	if (env->dev)
		snprintf(dev, sizeof(dev), " dev=%s", env->dev);
	if (env->mmio_user)
		snprintf(mmio, sizeof(mmio), " mmio_user=0x%x", env->mmio_user);
	return xasprintf("%s%s%s%s caps=0x%x%s%s%s", words, env->native ? " env=native" : "",
			 env->pt_4k ? " pt=4k" : "", dev, env->caps, mmio, env->extra ? " " : "",
			 env->extra ? env->extra : "");
}

char *hvb_param_words(const struct hvb_params *params)
{
	char *s = xstrdup("");

	for (unsigned i = 0; i < params->n; i++) {
		char *t = xasprintf("%s%sparam.%s=%llu", s, i ? " " : "", params->v[i].key,
				    (unsigned long long)params->v[i].value);

		free(s);
		s = t;
	}
	return s;
}

const char *hvb_guest_exit_name(int code)
{
	switch (code) {
	case HVB_EXIT_OK:
		return "ok";
	case HVB_EXIT_BADCMD:
		return "command line not understood";
	case HVB_EXIT_FAULT:
		return "fault in the guest, see log";
	case HVB_EXIT_PANIC:
		return "guest runtime gave up, see log";
	}
	return "unknown code";
}

void hvb_boot_failed(const struct hvb_out *out, const struct hvb_job *job, const char *why)
{
	hvb_out_sample(out, .workload = HVB_BOOT_WORKLOAD, .metric = HVB_BOOT_METRIC, .unit = "ms",
		       .better = HVB_LOWER_IS_BETTER, .rep = job->rep, .status = HVB_ST_FAILED,
		       .note = why ? why : "the guest never said HELLO");
}

void hvb_boot_time(const struct hvb_out *out, const struct hvb_job *job, double ms,
		   const char *note)
{
	hvb_out_sample(out, .workload = HVB_BOOT_WORKLOAD, .metric = HVB_BOOT_METRIC, .unit = "ms",
		       .better = HVB_LOWER_IS_BETTER, .rep = job->rep, .value = ms, .note = note);
}
