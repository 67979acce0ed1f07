/*
 * hvb-xl: standalone test tool for runners/xen/xl.c.
 *
 *   hvb-xl available
 *   hvb-xl run [-m MB] [-c VCPUS] [-p CPU] [-e EXTRA] [-t SECONDS] [-l BYTES] [-d DISK]
 *              [-n MAC [-s SCRIPT]] [-P] [-v] KERNEL
 *
 * run copies the guest's PV console to stdout and prints one outcome line
 * on stderr:  hvb-xl: domain D end=END create=S run=S console=N
 * Exit status: 0 poweroff, 2 crash, 3 timeout, 4 other end (reboot,
 * flood, vanished), 130 interrupted, 1 error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xl.h"

static int to_stdout(void *arg, const char *buf, size_t len)
{
	(void)arg;
	if (fwrite(buf, 1, len, stdout) != len)
		return -EIO;
	fflush(stdout);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: hvb-xl available\n"
			"       hvb-xl run [-m MB] [-c VCPUS] [-p CPU] [-e EXTRA] [-t SECONDS] "
			"[-l BYTES] [-d DISK] [-n MAC [-s SCRIPT]] [-P] [-v] KERNEL\n"
			"  -d  attach DISK (file or block device in dom0) as xvda, read-write\n"
			"  -n  attach a vif with MAC (aa:bb:cc:dd:ee:ff), netback in dom0\n"
			"  -s  the vif's hotplug script (default vif-hvbench)\n"
			"  -P  a PV domU (default PVH)\n");
	return 1;
}

static int cmd_available(void)
{
	char why[512];

	if (hvb_xl_available(why, sizeof(why))) {
		printf("xen: available\n");
		return 0;
	}
	printf("xen: not available: %s\n", why);
	return 1;
}

static int exit_of(enum hvb_xl_end end)
{
	switch (end) {
	case HVB_XL_POWEROFF:
		return 0;
	case HVB_XL_CRASH:
		return 2;
	case HVB_XL_TIMEOUT:
		return 3;
	case HVB_XL_INTERRUPTED:
		return 130;
	default:
		return 4;
	}
}

static int cmd_run(int argc, char **argv)
{
	struct hvb_xl_cfg cfg = { .cpu = -1, .on_console = to_stdout };
	struct hvb_xl_outcome out;
	struct hvb_xl *xl;
	uint8_t mac[6];
	bool verbose = false;
	char err[512] = "";
	int opt, rc;

	while ((opt = getopt(argc, argv, "m:c:p:e:t:l:d:n:s:Pv")) != -1) {
		switch (opt) {
		case 'm':
			cfg.memory_mb = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cfg.vcpus = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			cfg.cpu = atoi(optarg);
			break;
		case 'e':
			cfg.cmdline = optarg;
			break;
		case 't':
			cfg.timeout_s = strtod(optarg, NULL);
			break;
		case 'l':
			cfg.console_max = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			cfg.disk = optarg;
			break;
		case 'n':
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
				   &mac[3], &mac[4], &mac[5]) != 6) {
				fprintf(stderr, "hvb-xl: -n wants a MAC aa:bb:cc:dd:ee:ff\n");
				return 1;
			}
			cfg.nic_mac = mac;
			break;
		case 's':
			cfg.nic_script = optarg;
			break;
		case 'P':
			cfg.pv = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	cfg.kernel = argv[optind];
	rc = hvb_xl_open(&xl, verbose, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "hvb-xl: %s\n", err);
		return 1;
	}
	rc = hvb_xl_run(xl, &cfg, &out, err, sizeof(err));
	hvb_xl_close(xl);
	if (rc && rc != -EINTR) {
		fprintf(stderr, "hvb-xl: %s\n", err);
		return 1;
	}
	fprintf(stderr, "hvb-xl: domain %u end=%s create=%.3fs run=%.3fs console=%zu\n", out.domid,
		hvb_xl_end_str(out.end), out.create_s, out.run_s, out.console_bytes);
	return exit_of(out.end);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "available"))
		return cmd_available();
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	return usage();
}
