/* The Xen runner off Xen: it is registered, and says precisely why it cannot run. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "tap.h"

int main(void)
{
	const struct hvb_runner *r = hvb_runner_find("xen-pvh");
	char why[512] = "";
	bool ok;

	TAP_OK(r != NULL, "xen-pvh runner is registered");
	if (!r)
		return tap_done();
	TAP_OK(r->available && r->run && r->describe, "descriptor is complete");
	if (!access("/proc/xen/capabilities", F_OK)) {
		TAP_SKIP("this host is running under Xen; the off-Xen checks do not apply");
		return tap_done();
	}
	ok = r->available(why, sizeof(why));
	TAP_OK(!ok, "not available on a host that is not a Xen dom0");
	TAP_OK(why[0] != '\0', "a reason is given");
	TAP_OK(strstr(why, "not running under Xen") || strstr(why, "libxl") ||
		       strstr(why, "privcmd"),
	       "the reason names what is missing");
	printf("# why: %s\n", why);
	return tap_done();
}
