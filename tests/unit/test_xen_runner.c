/* The Xen runners off Xen: both are registered, and say precisely why they cannot run. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "runner.h"
#include "tap.h"

static void check(const char *name)
{
	const struct hvb_runner *r = hvb_runner_find(name);
	char why[512] = "";
	struct hvb_config cfg;
	bool ok;

	TAP_OK(r != NULL, name);
	if (!r)
		return;
	TAP_OK(r->available && r->run && r->describe, "descriptor is complete");
	if (!access("/proc/xen/capabilities", F_OK)) {
		TAP_SKIP("this host is running under Xen; the off-Xen checks do not apply");
		return;
	}
	if (hvb_config_load(&cfg, NULL, why, sizeof(why)))
		return;
	ok = r->available(&cfg, why, sizeof(why));
	hvb_config_free(&cfg);
	TAP_OK(!ok, "not available on a host that is not a Xen dom0");
	TAP_OK(why[0] != '\0', "a reason is given");
	TAP_OK(strstr(why, "not running under Xen") || strstr(why, "libxl") ||
		       strstr(why, "privcmd"),
	       "the reason names what is missing");
	printf("# %s: why: %s\n", name, why);
}

int main(void)
{
	check("xen-pvh");
	check("xen-pv");
	return tap_done();
}
