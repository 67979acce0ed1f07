#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "meta.h"
#include "util.h"

static int kvm_open_error(int e, char *why, size_t len)
{
	if (e == ENOENT)
		snprintf(why, len, "no /dev/kvm (load kvm_intel, kvm_amd or kvm_pvm, or enable "
				   "virtualization in the firmware)");
	else if (e == EACCES || e == EPERM)
		snprintf(why, len, "permission denied on /dev/kvm: add yourself to group kvm or "
				   "run as root");
	else
		snprintf(why, len, "cannot open /dev/kvm: %s", strerror(e));
	return -e;
}

int hvb_kvm_usable(char *why, size_t len)
{
	static const struct {
		long cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (Linux >= 4.11)" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), v, r = 0;

	if (fd < 0)
		return kvm_open_error(errno, why, len);
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(why, len, "/dev/kvm speaks KVM API %d, hvbench needs %d", v,
			 KVM_API_VERSION);
		r = -ENOTSUP;
	}
	for (size_t i = 0; !r && i < ARRAY_SIZE(need); i++)
		if (ioctl(fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			snprintf(why, len, "/dev/kvm lacks %s", need[i].name);
			r = -ENOTSUP;
		}
	close(fd);
	return r;
}

bool hvb_host_is_pvm(void)
{
	char buf[200];

	hvb_meta_nesting(buf, sizeof(buf));
	return !strncmp(buf, "pvm", 3);
}

int hvb_find_exe(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL;
	int r = -ENOENT;

	if (strchr(name, '/')) {
		hvb_strlcpy(out, name, len);
		return access(out, X_OK) ? -ENOENT : 0;
	}
	dirs = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", dir, name);
		if (!access(out, X_OK)) {
			r = 0;
			break;
		}
	}
	free(dirs);
	return r;
}
