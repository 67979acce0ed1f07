/*
 * hv-bare-boot: the kvm runner's boot_ms against the least a PVH loader
 * must do to bring the same guest image to its first harness instruction.
 *
 * bare  on this thread: KVM_CREATE_VM, one RAM memslot, one vCPU with
 *       KVM's CPUID, the ELF segments, the PVH start info and the 32-bit
 *       entry state (the hv/ helpers: one or two ioctls each), then a bare
 *       KVM_RUN loop that only looks at record-port writes, until HELLO.
 *       The command line is the harness's words with dev=hvb and nothing
 *       else: no pt=4k (the guest keeps its static 2 MiB boot map and
 *       builds nothing), no irqchip, no devices, no probes, no thread, no
 *       seccomp filter.
 * core  `hvbench run --runner kvm --reps 2` (a process of its own, as a
 *       user runs it), its boot_ms rows read back from samples.csv and its
 *       "boot phases" lines from log.txt.  Both boots are reported: the
 *       first of a process writes the guest's page tables, later ones map
 *       the template the first left behind (hv/paging.h); the target is
 *       met by later boots, and the first boot's ratio is printed too.
 *
 * Both are timed the same way: from just before KVM_CREATE_VM to the
 * guest's TSC at the harness's first instruction (HELLO u64[1]), related
 * to the host clock by reading the guest TSC at the HELLO exit.  Rounds
 * run in interleaved order (bare core core bare ...), pinned to the same
 * CPU (locked against other runs for the tool's life and passed down to
 * its core rounds' `hvbench run`, bench_lock.h), and the median of per-round ratios core / bare is printed, like
 * hv-bare-exit.  A figure for a report, not a test: nothing is asserted.
 *
 *   usage: hv-bare-boot [rounds (5)] [page-size 4k|2m (4k)] [guest-mem MiB (1024)] [cpu]
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_args.h"
#include "bench_lock.h"
#include "elf_load.h"
#include "hvb/abi.h"
#include "mem.h"
#include "pvh.h"
#include "vm.h"
#include "watchdog.h"

#define BARE_TIMEOUT_S 20

/* The bare loader's steps (host clock), for the breakdown beside the core's. */
enum { B_VM, B_MEMORY, B_VCPU, B_IMAGE, B_START, B_ENTRY, B_GUEST, B_STEPS };
static const char *const step_names[B_STEPS] = {"vm",	 "memory",	"vcpu", "image",
						"start", "first-entry", "guest"};

struct bare_boot {
	double ms; /* boot time, as boot_ms */
	double step_ms[B_STEPS];
};

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static int guest_tsc(struct vcpu *vcpu, uint64_t *tsc)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr.nmsrs = 1, .e.index = 0x10 /* IA32_TSC */};

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*tsc = m.e.data;
	return 0;
}

/* The HELLO record the guest just sent to HVB_PORT_RECORD, or NULL (another record). */
static const struct hvb_record *hello_of(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t gpa;
	const struct hvb_record *rec;

	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4)
		return NULL;
	memcpy(&gpa, (uint8_t *)run + run->io.data_offset, 4);
	rec = vm_gpa_to_hva_checked(vcpu->vm, gpa, sizeof(*rec));
	return rec && rec->magic == HVB_RECORD_MAGIC && rec->type == HVB_REC_HELLO ? rec : NULL;
}

/* KVM_RUN until HELLO; every other port write (LOG records, the console)
 * is taken and left.  Anything else ends the boot: -EIO. */
static int run_to_hello(struct vcpu *vcpu, const struct hvb_record **hello)
{
	struct kvm_run *run = vcpu->run;

	for (;;) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0)
			return alarmed ? -ETIMEDOUT : -errno;
		if (run->exit_reason != KVM_EXIT_IO)
			return -EIO;
		if (run->io.port == HVB_PORT_RECORD && (*hello = hello_of(vcpu)))
			return 0;
		if (run->io.port == HVB_PORT_SHUTDOWN)
			return -EIO;
	}
}

static double ms_between(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

/* Guest TSC cycles -> ms at the guest's TSC rate. */
static double tsc_ms(uint64_t cycles, long khz)
{
	return (double)cycles / (double)khz;
}

static int bare_boot(const uint8_t *image, size_t size, uint64_t mem_mib, const char *cmdline,
		     struct bare_boot *b, char *err, size_t errlen)
{
	struct vm *vm = NULL;
	struct vcpu *vcpu;
	struct hv_image hi;
	const struct hvb_record *hello = NULL;
	uint64_t t[B_START + 2], now, tsc_now;
	long khz;
	int r;

	t[0] = hv_now_ns();
	r = vm_create(&vm, NULL);
	t[1] = hv_now_ns();
	if (!r)
		r = vm_mem_add(vm, 0, mem_mib << 20);
	t[2] = hv_now_ns();
	if (!r)
		r = vcpu_create(vm, 0, &vcpu);
	if (!r)
		r = vcpu_cpuid_init(vcpu);
	t[3] = hv_now_ns();
	if (!r)
		r = vm_load_elf(vm, image, size, &hi, err, errlen);
	t[4] = hv_now_ns();
	if (!r)
		r = vm_pvh_setup(vm, cmdline);
	if (!r)
		r = vcpu_setup_pvh(vcpu, hi.entry);
	t[5] = hv_now_ns();
	if (r) {
		if (!err[0])
			snprintf(err, errlen, "setting up the VM: %s", strerror(-r));
		goto out;
	}
	alarmed = 0;
	alarm(BARE_TIMEOUT_S);
	r = run_to_hello(vcpu, &hello);
	alarm(0);
	now = hv_now_ns();
	khz = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (!r && (khz <= 0 || guest_tsc(vcpu, &tsc_now) || tsc_now < hello->u64[1] ||
		   hello->u64[0] > hello->u64[1]))
		r = -ERANGE;
	if (r) {
		snprintf(err, errlen, "the guest did not say HELLO: %s",
			 r == -EIO ? "an exit other than a port write" : strerror(-r));
		goto out;
	}
	for (unsigned i = 0; i < B_START + 1; i++)
		b->step_ms[i] = ms_between(t[i], t[i + 1]);
	b->ms = ms_between(t[0], now) - tsc_ms(tsc_now - hello->u64[1], khz);
	b->step_ms[B_GUEST] = tsc_ms(hello->u64[1] - hello->u64[0], khz);
	b->step_ms[B_ENTRY] = b->ms - ms_between(t[0], t[5]) - b->step_ms[B_GUEST];
out:
	vm_destroy(vm);
	return r;
}

/* ------------------------------------------------------------ the core */

/* The directory of this program (hvbench and the guest image live beside it). */
static void self_dir(char *dir, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;

	dir[n > 0 ? n : 0] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, len, ".");
}

/* boot_ms of repetition `rep` in DIR/samples.csv (a `kvm,boot,boot_ms` row). */
static int read_core_ms(const char *run_dir, unsigned rep, double *ms)
{
	char path[PATH_MAX + 32], line[1024], key[64];
	FILE *f;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "%s/samples.csv", run_dir);
	snprintf(key, sizeof(key), ",kvm,boot,boot_ms,ms,lower,%u,", rep);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, key);
		if (p && sscanf(p + strlen(key), "%lf", ms) == 1 && strstr(p, ",ok,")) {
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

/* The core's own breakdown (log.txt "boot phases"), printed as it is. */
static void print_core_phases(const char *run_dir)
{
	char path[PATH_MAX + 32], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/log.txt", run_dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "boot phases");
		if (p)
			printf("           core %s", p);
	}
	fclose(f);
}

/* One `hvbench run --runner kvm --reps 2`: the boot_ms of both boots. */
static int core_boot(const char *dir, const char *page_size, uint64_t mem_mib, int cpu,
		     const char *tmp, double *first_ms, double *later_ms)
{
	char hvbench[PATH_MAX + 16], image[PATH_MAX + 32], mem[24], cpus[16];
	char run_dir[PATH_MAX + 16];
	int status;
	pid_t pid;

	snprintf(hvbench, sizeof(hvbench), "%s/hvbench", dir);
	snprintf(image, sizeof(image), "%s/guest/hvbench-guest.elf", dir);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)mem_mib);
	snprintf(cpus, sizeof(cpus), "%d", cpu);
	snprintf(run_dir, sizeof(run_dir), "%s/latest", tmp);
	fflush(stdout); /* or the child's exit would print our buffer again */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(hvbench, hvbench, "run", "--runner", "kvm", "--workload", "cpu/crc32c",
		      "--quick", "--reps", "2", "--page-size", page_size, "--guest-mem", mem,
		      "--cpu", cpus, "--image", image, "--out", tmp, "--latest", run_dir,
		      (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
		return -ECHILD;
	print_core_phases(run_dir);
	return read_core_ms(run_dir, 0, first_ms) ?: read_core_ms(run_dir, 1, later_ms);
}

/* ------------------------------------------------------------ main */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define TOOL  "hv-bare-boot"
#define USAGE "hv-bare-boot [rounds 1..1000] [page-size 4k|2m] [guest-mem MiB 16..3072] [cpu]"

static void usage_exit(const char *bad)
{
	fprintf(stderr, "usage: %s\n%s: page-size '%s' is not valid there: give 4k or 2m\n",
		USAGE, TOOL, bad);
	exit(2);
}

/* The last CPU this process may run on: where hvbench puts vCPU 0 by default. */
static int last_cpu(void)
{
	cpu_set_t set;
	int last = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			last = c;
	return last;
}

static void print_bare(unsigned round, const struct bare_boot *b)
{
	printf("round %2u: bare %8.3f ms:", round, b->ms);
	for (unsigned s = 0; s < B_STEPS; s++)
		printf(" %s %.3f", step_names[s], b->step_ms[s]);
	printf("\n");
}

/* Median of per-round ratios and both medians (sorts the arrays). */
static void summary(const char *what, double *core, double *bare, unsigned rounds)
{
	double *ratio = calloc(rounds, sizeof(double)), med;

	for (unsigned i = 0; i < rounds; i++)
		ratio[i] = core[i] / bare[i];
	med = median(ratio, rounds); /* sorted now: the quartiles below are the sorted ones */
	printf("%s / bare per round: median %.2f (p25 %.2f, p75 %.2f; target <= 2)\n", what, med,
	       ratio[rounds / 4], ratio[(3 * rounds) / 4]);
	printf("%s: median %.3f ms, bare %.3f ms\n", what, median(core, rounds),
	       median(bare, rounds));
	free(ratio);
}

int main(int argc, char **argv)
{
	unsigned rounds = (unsigned)bench_arg_num(TOOL, USAGE, argc, argv, 1, "rounds", 5, 1, 1000);
	const char *page_size = argc > 2 ? argv[2] : "4k";
	uint64_t mem_mib = bench_arg_num(TOOL, USAGE, argc, argv, 3, "guest-mem", 1024, 16, 3072);
	int cpu = argc > 4 ? (int)bench_arg_num(TOOL, USAGE, argc, argv, 4, "cpu", 0, 0,
						 CPU_SETSIZE - 1)
			   : last_cpu();
	char dir[PATH_MAX], image_path[PATH_MAX + 32], err[300] = "";
	char tmp[] = "/tmp/hv-bare-boot.XXXXXX", cmdline[200], rm[sizeof(tmp) + 16];
	double *bare = calloc(rounds, sizeof(double)), *bare2 = calloc(rounds, sizeof(double));
	double *first = calloc(rounds, sizeof(double)), *later = calloc(rounds, sizeof(double));
	uint8_t *image;
	size_t size;
	struct hvb_cpulock lock;
	cpu_set_t set;

	if (strcmp(page_size, "4k") && strcmp(page_size, "2m"))
		usage_exit(page_size);
	self_dir(dir, sizeof(dir));
	snprintf(image_path, sizeof(image_path), "%s/guest/hvbench-guest.elf", dir);
	if (hv_elf_read_file(image_path, &image, &size, err, sizeof(err))) {
		fprintf(stderr, "hv-bare-boot: %s (run make first)\n", err);
		return 1;
	}
	/* Held until exit, and shared with the core rounds' `hvbench run --cpu`. */
	bench_lock_cpu(&lock, TOOL, argc, argv, cpu, true,
		       "wait for it to end, or give another cpu (the fourth argument)");
	if (!mkdtemp(tmp)) {
		perror("hv-bare-boot: mkdtemp");
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("hv-bare-boot: sched_setaffinity");
	/* No SA_RESTART: the alarm ends a KVM_RUN that never returns (-EINTR). */
	sigaction(SIGALRM, &(struct sigaction){.sa_handler = on_alarm}, NULL);
	/* The harness's words as the kvm runner gives them; tsc_khz is only
	 * read after HELLO. */
	snprintf(cmdline, sizeof(cmdline), "w=cpu/crc32c rep=0 reps=1 tsc_khz=1 dev=hvb");
	printf("hv-bare-boot: %u rounds, core --page-size %s (2 boots a round: first, later), "
	       "bare: no pt= word, %llu MiB, cpu %d, order bare core core bare ...\n",
	       rounds, page_size, (unsigned long long)mem_mib, cpu);
	for (unsigned i = 0; i < rounds; i++) {
		for (int k = 0; k < 2; k++) {
			bool use_core = (i % 2) ^ k;
			struct bare_boot b = {0};
			int r =
			    use_core
				? core_boot(dir, page_size, mem_mib, cpu, tmp, &first[i], &later[i])
				: bare_boot(image, size, mem_mib, cmdline, &b, err, sizeof(err));

			if (r) {
				fprintf(stderr, "hv-bare-boot: %s boot failed: %s\n",
					use_core ? "core" : "bare", use_core ? strerror(-r) : err);
				return 1;
			}
			if (!use_core) {
				bare[i] = bare2[i] = b.ms;
				print_bare(i, &b);
			}
		}
		printf(
		    "round %2u: core first %8.3f ms (%.2f x bare), later %8.3f ms (%.2f x bare)\n",
		    i, first[i], first[i] / bare[i], later[i], later[i] / bare[i]);
	}
	summary("core, later boots", later, bare, rounds);
	summary("core, first boot of a process", first, bare2, rounds);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", tmp); /* the core's run directories */
	if (system(rm))
		fprintf(stderr, "hv-bare-boot: could not remove %s\n", tmp);
	free(image), free(bare), free(bare2), free(first), free(later);
	return 0;
}
