/*
 * hvb-vmm: boot a guest image under the reference core, standalone.
 *
 *   hvb-vmm [-t SECONDS] [-m MIB] [-c VCPUS] IMAGE [COMMAND-LINE WORDS...]
 *
 * Prints the guest's console lines and every record it sends (type,
 * workload, metric, value, text: not validated, this is a debugging aid),
 * then the verdict.  Exit status: the guest's shutdown code, or 100 +
 * the verdict (timeout, crash, guest error, ...) when it did not shut down.
 * The hvbench kvm runner uses the same library; this tool is for looking at
 * a guest by hand.  As in the runner, the vCPU runs on its own thread under
 * the seccomp allowlist (hv/seccomp.h; HVB_SECCOMP=0 turns it off): the
 * first line says which.  -c VCPUS (1-8, default 1) runs that many vCPUs:
 * the APs start at the image's AP entry note on threads of their own
 * (hv/smp.h), filtered alike, and the guest gets "vcpus=N smp=direct".
 * There is no irqchip (as with one vCPU: hlt is a halt exit), so the
 * guest's APs spin while idle; pass caps= words yourself, as for one vCPU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev.h"
#include "bench_args.h"
#include "elf_load.h"
#include "exit.h"
#include "pvh.h"
#include "seccomp.h"
#include "smp.h"
#include "vm.h"

static const char *const rec_names[] = {
    [HVB_REC_HELLO] = "HELLO",
    [HVB_REC_CELL_BEGIN] = "CELL_BEGIN",
    [HVB_REC_REP_BEGIN] = "REP_BEGIN",
    [HVB_REC_REP_END] = "REP_END",
    [HVB_REC_SAMPLE] = "SAMPLE",
    [HVB_REC_STATUS] = "STATUS",
    [HVB_REC_LOG] = "LOG",
    [HVB_REC_FAULT] = "FAULT",
    [HVB_REC_DONE] = "DONE",
    [HVB_REC_RELEASE] = "RELEASE",
};

static void on_line(void *arg, const char *text)
{
	(void)arg;
	printf("console: %s\n", text);
}

static int on_record(void *arg, struct vcpu *vcpu, const struct hvb_record *r, char *why,
		     size_t len)
{
	const char *name = r->type < sizeof(rec_names) / sizeof(rec_names[0]) && rec_names[r->type]
			       ? rec_names[r->type]
			       : "?";

	(void)arg, (void)vcpu, (void)why, (void)len;
	printf("record: %-10s rep %u %.*s %.*s %.*s value %g u64 0x%llx 0x%llx %.*s\n", name,
	       r->rep, (int)sizeof(r->workload), r->workload, (int)sizeof(r->metric), r->metric,
	       (int)sizeof(r->unit), r->unit, r->value, (unsigned long long)r->u64[0],
	       (unsigned long long)r->u64[1], (int)sizeof(r->text), r->text);
	return 0;
}

/* -t SECONDS: a finite number of seconds in (0, 86400]. */
static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !(v > 0 && v <= 86400)) /* also refuses nan, inf, 1e300 */
		return -EINVAL;
	*out = v;
	return 0;
}

struct vcpu_job {
	struct vcpu *vcpu;
	struct hv_run_opts o;
	bool seccomp; /* HVB_SECCOMP */
	struct hv_smp smp;
};

/* An AP's thread, before its run: the same allowlist as vCPU 0's. */
static int ap_enter(void *arg, struct vcpu *vcpu)
{
	struct vcpu_job *j = arg;
	char why[300];

	(void)vcpu;
	return hv_seccomp_vcpu_enter(j->seccomp, why, sizeof(why)) ? -EPERM : 0;
}

/* The vCPU thread, filtered like the kvm runner's (its output too). */
static void *vcpu_main(void *arg)
{
	struct vcpu_job *j = arg;
	char why[300];

	if (j->vcpu->vm->n_vcpus > 1) { /* unpinned: a tool, not a measurement */
		j->smp.enter = ap_enter;
		j->smp.arg = j;
		hv_smp_start(&j->smp, j->vcpu->vm, NULL, &j->o); /* a failure is the verdict */
	}
	if (hv_seccomp_vcpu_enter(j->seccomp, why, sizeof(why)))
		vm_stop(j->vcpu->vm, NULL, HV_HOST_ERROR, "%s", why);
	vcpu_run(j->vcpu, &j->o);
	/* The APs leave with vCPU 0's verdict (their watchdogs see it). */
	if (j->vcpu->vm->n_vcpus > 1 && hv_smp_join(&j->smp, 5000000000ull))
		fprintf(stderr, "hvb-vmm: an AP's KVM_RUN did not come back\n");
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: hvb-vmm [-t SECONDS] [-m MIB] [-c VCPUS] IMAGE [COMMAND-LINE "
			"WORDS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	double timeout = 60;
	unsigned long mib = 256;
	unsigned long vcpus = 1;
	char cmdline[HVB_CMDLINE_MAX] = "", err[512];
	struct hv_console con;
	struct hv_hvb hvb = {.record = on_record};
	struct hv_image hi;
	struct vm *vm;
	struct vcpu *vcpu;
	struct vcpu_job job;
	pthread_t t;
	bool seccomp;
	int opt, r;

	while ((opt = getopt(argc, argv, "t:m:c:")) != -1) {
		if (opt == 't' && parse_seconds(optarg, &timeout)) {
			fprintf(stderr, "hvb-vmm: -t '%s': give seconds, a number in (0, 86400]\n",
				optarg);
			return 2;
		} else if (opt == 'm' && bench_parse_num(optarg, 2, 3072, &mib)) {
			fprintf(stderr, "hvb-vmm: -m '%s': give MiB, a whole number from 2 to 3072\n",
				optarg);
			return 2;
		} else if (opt == 'c' && bench_parse_num(optarg, 1, HV_MAX_VCPUS, &vcpus)) {
			fprintf(stderr, "hvb-vmm: -c '%s': give vCPUs, a whole number from 1 to %d\n",
				optarg, HV_MAX_VCPUS);
			return 2;
		} else if (opt != 't' && opt != 'm' && opt != 'c') {
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	if (hv_seccomp_env(&seccomp, err, sizeof(err))) {
		fprintf(stderr, "hvb-vmm: %s\n", err);
		return 2;
	}
	hv_seccomp_vcpu_describe(seccomp, err, sizeof(err));
	printf("seccomp: %s\n", err);
	for (int i = optind + 1; i < argc; i++) {
		size_t n = strlen(cmdline);
		snprintf(cmdline + n, sizeof(cmdline) - n, "%s%s", n ? " " : "", argv[i]);
	}
	if (vcpus > 1) {
		size_t n = strlen(cmdline);
		snprintf(cmdline + n, sizeof(cmdline) - n, "%svcpus=%lu smp=direct", n ? " " : "",
			 vcpus);
	}
	r = vm_create(&vm, NULL);
	if (r) {
		fprintf(stderr, "hvb-vmm: cannot create a VM on /dev/kvm: %s\n", strerror(-r));
		return 1;
	}
	if ((r = vm_mem_add(vm, 0, (uint64_t)mib << 20)) || (r = vcpu_create(vm, 0, &vcpu)) ||
	    (r = vcpu_cpuid_init(vcpu))) {
		fprintf(stderr, "hvb-vmm: cannot set up the VM: %s\n", strerror(-r));
		return 1;
	}
	for (unsigned i = 1; i < vcpus && !r; i++) {
		struct vcpu *ap;
		if (!(r = vcpu_create(vm, i, &ap)))
			r = vcpu_cpuid_init(ap);
	}
	if (r) {
		fprintf(stderr, "hvb-vmm: cannot create the APs: %s\n", strerror(-r));
		return 1;
	}
	if (vm_load_elf_file(vm, argv[optind], &hi, NULL, err, sizeof(err))) {
		fprintf(stderr, "hvb-vmm: %s\n", err);
		return 1;
	}
	if (vcpus > 1 && !hi.ap_entry) {
		fprintf(stderr, "hvb-vmm: -c %lu: %s has no AP entry note (HVB_NOTE_AP_ENTRY): it "
				"runs 1 vCPU only\n", vcpus, argv[optind]);
		return 1;
	}
	for (unsigned i = 1; i < vcpus; i++)
		if ((r = vcpu_setup_ap(vm->vcpus[i], hi.ap_entry))) {
			fprintf(stderr, "hvb-vmm: cannot put vCPU %u at the AP entry: %s\n", i,
				strerror(-r));
			return 1;
		}
	if ((r = dev_console_attach(vm, &con, 0, on_line, NULL)) ||
	    (r = dev_hvb_attach(vm, &hvb)) || (r = vm_pvh_setup(vm, cmdline)) ||
	    (r = vcpu_setup_pvh(vcpu, hi.entry))) {
		fprintf(stderr, "hvb-vmm: cannot prepare the guest: %s\n", strerror(-r));
		return 1;
	}
	job = (struct vcpu_job){.vcpu = vcpu, .o.timeout_ns = (uint64_t)(timeout * 1e9),
				.seccomp = seccomp};
	if ((r = pthread_create(&t, NULL, vcpu_main, &job))) {
		fprintf(stderr, "hvb-vmm: cannot start the vCPU thread: %s\n", strerror(r));
		return 1;
	}
	pthread_join(t, NULL);
	dev_console_flush(&con);
	printf("verdict: %s: %s", hv_outcome_name(vm->verdict.outcome), vm->verdict.msg);
	if (vm->verdict.have_regs)
		printf(" (rip 0x%llx)", (unsigned long long)vm->verdict.rip);
	printf("\n");
	r = vm->verdict.outcome == HV_SHUTDOWN ? vm->verdict.guest_code
					       : 100 + (int)vm->verdict.outcome;
	vm_destroy(vm);
	return r;
}
