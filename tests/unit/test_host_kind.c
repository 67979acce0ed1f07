/*
 * host_kind and host_identity (lib/meta.c) on fake /proc + /sys trees: a
 * Xen dom0, a domU, bare metal, our nested PVM, a KVM guest, another VM;
 * the identity stays with the machine across boots (kernel, memory) and
 * moves with what makes it another one (microcode, serial).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "tap.h"
#include "util.h"

static char base[] = "/tmp/hvb-test-host-XXXXXX";

static void put(const char *root, const char *path, const char *text)
{
	char *p = xasprintf("%s%s", root, path), *dir = xstrdup(p);
	FILE *f;

	*strrchr(dir, '/') = '\0';
	hvb_mkdir_p(dir);
	f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(p);
		exit(2);
	}
	free(dir);
	free(p);
}

static const char *cpuinfo(const char *microcode)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 1\n"
		 "model name\t: AMD EPYC 7601\nstepping\t: 2\nmicrocode\t: %s\n\nprocessor\t: 1\n"
		 "model\t\t: 9\n",
		 microcode);
	return buf;
}

/* A fake host NAME with /proc/cpuinfo; the caller adds what makes it a kind. */
static char *host(const char *name)
{
	char *root = xasprintf("%s/%s", base, name);

	put(root, "/proc/cpuinfo", cpuinfo("0x1000065"));
	return root;
}

static void expect_kind(const char *root, const char *want, const char *evidence)
{
	char kind[32], ev[1024];

	hvb_meta_host_kind(root, kind, sizeof(kind), ev, sizeof(ev));
	TAP_EQ_STR(kind, want, root);
	TAP_OK(strstr(ev, evidence) != NULL, evidence);
	if (!strstr(ev, evidence))
		printf("# evidence: %s\n", ev);
}

static void test_kinds(void)
{
	char *r;

	r = host("dom0");
	put(r, "/proc/xen/capabilities", "control_d\n");
	put(r, "/sys/hypervisor/type", "xen\n");
	put(r, "/cpuid-hypervisor", "XenVMMXenVMM (0x40000000)");
	expect_kind(r, "xen-dom0", "/proc/xen/capabilities: control_d");
	free(r);

	r = host("domU");
	put(r, "/sys/hypervisor/type", "xen\n");
	put(r, "/cpuid-hypervisor", "XenVMMXenVMM (0x40000000)");
	expect_kind(r, "xen-domU", "/sys/hypervisor/type: xen");
	free(r);

	r = host("domU-procxen");
	put(r, "/proc/xen/capabilities", "");
	expect_kind(r, "xen-domU", "/proc/xen/capabilities: (empty)");
	free(r);

	r = host("bare");
	put(r, "/sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
	put(r, "/sys/class/dmi/id/product_name", "PowerEdge R640\n");
	put(r, "/dev/kvm", "");
	expect_kind(r, "bare-metal", "cpuid hypervisor: none");
	free(r);

	r = host("nested");
	put(r, "/cpuid-hypervisor", "KVMKVMKVM (0x40000000)");
	put(r, "/sys/module/kvm_pvm/refcnt", "1\n");
	put(r, "/dev/kvm", "");
	expect_kind(r, "nested", "kvm_pvm: loaded");
	free(r);

	r = host("kvm-guest");
	put(r, "/cpuid-hypervisor", "KVMKVMKVM (0x40000000)");
	put(r, "/sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
	expect_kind(r, "kvm-guest", "KVMKVMKVM");
	free(r);

	r = host("vmware");
	put(r, "/sys/class/dmi/id/sys_vendor", "VMware, Inc.\n");
	expect_kind(r, "vm", "VMware, Inc. / ? (a VM)");
	free(r);
}

static void identity(const char *name, char *hash, char *fields)
{
	char *root = xasprintf("%s/%s", base, name);

	hvb_meta_host_identity(root, hash, 32, fields, 256);
	free(root);
}

static void test_identity(void)
{
	char a[32], b[32], fa[256], fb[256];
	char *r;

	/* The Linux boot and the Xen boot of one machine: kernel and memory differ. */
	r = host("linux-boot");
	put(r, "/proc/meminfo", "MemTotal:       24683000 kB\n");
	put(r, "/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
	put(r, "/sys/class/dmi/id/product_serial", "ABC123\n");
	free(r);
	r = host("xen-boot");
	put(r, "/proc/meminfo", "MemTotal:        1048576 kB\n");
	put(r, "/proc/sys/kernel/osrelease", "6.1.0-18-amd64 xen\n");
	put(r, "/proc/xen/capabilities", "control_d\n");
	put(r, "/sys/class/dmi/id/product_serial", "ABC123\n");
	free(r);
	identity("linux-boot", a, fa);
	identity("xen-boot", b, fb);
	TAP_EQ_STR(a, b, "two boots of one machine have one identity");
	TAP_EQ_INT(strlen(a), 16, "the identity is 16 hex digits");
	TAP_EQ_STR(fa, "cpu_model cpu_family cpu_model_number cpu_stepping microcode "
		       "dmi_product_serial", "the fields used are listed (first CPU only)");

	r = host("other-serial");
	put(r, "/sys/class/dmi/id/product_serial", "XYZ999\n");
	free(r);
	identity("other-serial", b, fb);
	TAP_OK(strcmp(a, b), "another serial number: another machine");

	r = xasprintf("%s/new-microcode", base);
	put(r, "/proc/cpuinfo", cpuinfo("0x1000099"));
	put(r, "/sys/class/dmi/id/product_serial", "ABC123\n");
	free(r);
	identity("new-microcode", b, fb);
	TAP_OK(strcmp(a, b), "a microcode update changes the identity");

	identity("no-such-host", b, fb);
	TAP_EQ_STR(fb, "", "nothing readable: no fields (and still a hash)");
	TAP_EQ_INT(strlen(b), 16, "... of 16 hex digits");
}

int main(void)
{
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 2;
	}
	test_kinds();
	test_identity();
	{
		char rm[64];
		snprintf(rm, sizeof(rm), "rm -rf '%s'", base);
		if (system(rm))
			printf("# could not remove %s\n", base);
	}
	return tap_done();
}
