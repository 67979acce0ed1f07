/*
 * probes/kvm_trace: tracefs format files, perf records, the exit/entry
 * pairing and its edge cases, and the events that fire here.
 *
 * 1. Format files recorded from this host's tracefs
 *    (tests/fixtures/kvm_trace/NAME.format) and broken ones.
 * 2. HAND-MADE records (not recorded: kvm_exit/kvm_entry never fire under
 *    our nested PVM): VMX and SVM exits encoded at the offsets the recorded
 *    format files give, through every pairing edge case.
 * 3. A RECORDED ring buffer (tests/fixtures/kvm_trace/README.md): the
 *    bare port-exit guest's records, decoded and counted.
 * 4. Live, where root, /dev/kvm and tracefs allow: the same guest traced on
 *    this thread; HVB_KVM_TRACE_RECORD=FILE writes its records to FILE
 *    (how 3 was recorded).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bare_loop.h"
#include "kvm_trace.h"
#include "tap.h"

static char fixture_dir[512];

static void fixtures_init(void)
{
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");

	snprintf(fixture_dir, sizeof(fixture_dir), "%.*stests/fixtures/kvm_trace",
		 (int)(cut ? cut - src : 0), src);
}

static size_t slurp(const char *name, void *buf, size_t cap)
{
	char path[600];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static struct kvm_trace_format f_exit, f_entry, f_pio, f_mmio, f_uexit, f_msr;

static int load(const char *name, struct kvm_trace_format *f)
{
	static char text[16384];
	char file[64], err[160] = "";
	size_t n;

	snprintf(file, sizeof(file), "%s.format", name);
	n = slurp(file, text, sizeof(text));
	return n ? kvm_trace_format_parse(text, n, f, err, sizeof(err)) : -ENOENT;
}

static void field_is(const struct kvm_trace_format *f, const char *name, unsigned off,
		     unsigned size, const char *desc)
{
	const struct kvm_trace_field *x = kvm_trace_field(f, name);

	TAP_OK(x && x->offset == off && x->size == size, desc);
}

static void test_formats(void)
{
	int bad = load("kvm_exit", &f_exit) | load("kvm_entry", &f_entry) |
		  load("kvm_pio", &f_pio) | load("kvm_mmio", &f_mmio) |
		  load("kvm_userspace_exit", &f_uexit) | load("kvm_msr", &f_msr);

	TAP_EQ_INT(bad, 0, "recorded format files parse");
	TAP_EQ_STR(f_exit.name, "kvm_exit", "name");
	TAP_OK(f_exit.id > 0 && f_exit.id != f_entry.id, "ids");
	field_is(&f_exit, "common_type", 0, 2, "common_type at 0, 2 bytes");
	field_is(&f_exit, "exit_reason", 8, 4, "kvm_exit.exit_reason at 8");
	field_is(&f_exit, "isa", 24, 4, "kvm_exit.isa at 24");
	field_is(&f_pio, "rw", 8, 4, "kvm_pio.rw at 8");
	field_is(&f_pio, "port", 12, 4, "kvm_pio.port at 12");
	TAP_OK(kvm_trace_field(&f_uexit, "errno") && kvm_trace_field(&f_uexit, "errno")->is_signed,
	       "kvm_userspace_exit.errno is signed");
	TAP_OK(!kvm_trace_field(&f_exit, "nonesuch"), "unknown field: NULL");
}

static void test_bad_formats(void)
{
	struct kvm_trace_format f;
	char err[160], many[8192];
	int n;

#define BAD(text, want, desc)                                                                  \
	do {                                                                                   \
		err[0] = 0;                                                                    \
		TAP_OK(kvm_trace_format_parse(text, strlen(text), &f, err, sizeof(err)) ==     \
				       -EINVAL &&                                              \
			       strstr(err, want),                                              \
		       desc);                                                                  \
	} while (0)
	BAD("name: x\nformat:\n", "no name: or ID:", "no ID line: refused");
	TAP_EQ_INT(kvm_trace_format_parse("name: x\nID: 5\0", 14, &f, err, sizeof(err)), -EINVAL,
		   "a NUL byte: refused");
	BAD("name: x\nID: 0\n", "ID is not a positive", "ID 0: refused");
	BAD("name: x\nID: 5\n\tfield:int a;\toffset:x;\n", "does not parse", "bad field line");
	BAD("name: x\nID: 5\n\tfield:int a;\toffset:99999;\tsize:4;\tsigned:0;\n",
	    "does not parse", "offset past 64 KiB: refused");
	n = snprintf(many, sizeof(many), "name: x\nID: 5\n");
	for (int i = 0; i < 30; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n,
			      "\tfield:int f%d;\toffset:%d;\tsize:4;\tsigned:0;\n", i, 4 * i);
	BAD(many, "too many fields", "too many fields: refused");
	snprintf(many, sizeof(many), "name: x\nID: 5\n\tfield:char comm[16];\toffset:8;"
		 "\tsize:16;\tsigned:0;\n");
	TAP_EQ_INT(kvm_trace_format_parse(many, strlen(many), &f, err, sizeof(err)), 0,
		   "an array field parses");
	TAP_EQ_STR(f.n ? f.f[0].name : "", "comm", "... named without its brackets");
}

static void test_get(void)
{
	struct kvm_trace_field s8 = { .offset = 1, .size = 1, .is_signed = true };
	struct kvm_trace_field u32 = { .offset = 0, .size = 4 }, past = { .offset = 2, .size = 4 };
	uint8_t raw[4] = { 0x01, 0xfe, 0, 0 };
	uint64_t v = 0;

	TAP_OK(kvm_trace_get(&s8, raw, 4, &v) && (int64_t)v == -2, "signed byte sign-extends");
	TAP_OK(kvm_trace_get(&u32, raw, 4, &v) && v == 0xfe01, "u32 little-endian");
	TAP_OK(!kvm_trace_get(&past, raw, 4, &v), "a field past the data: false");
	TAP_OK(!kvm_trace_get(NULL, raw, 4, &v), "no field: false");
}

/* ----------------------------------------------- hand-made records */

static uint8_t buf[65536];
static size_t used;

static void put(void *raw, const struct kvm_trace_format *f, const char *name, uint64_t v)
{
	const struct kvm_trace_field *x = kvm_trace_field(f, name);

	if (x)
		memcpy((uint8_t *)raw + x->offset, &v, x->size < 8 ? x->size : 8);
}

/* A PERF_RECORD_SAMPLE of event f, tid, cpu, time, with up to two fields. */
static void sample(const struct kvm_trace_format *f, uint32_t tid, uint32_t cpu, uint64_t t,
		   const char *k1, uint64_t v1, const char *k2, uint64_t v2)
{
	uint8_t raw[68] = { 0 };
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = 8 + 28 + 68 };
	uint32_t size = sizeof(raw), pid = tid, zero = 0;
	uint8_t *p = buf + used;

	put(raw, f, "common_type", f->id);
	if (k1)
		put(raw, f, k1, v1);
	if (k2)
		put(raw, f, k2, v2);
	memcpy(p, &h, 8), memcpy(p + 8, &pid, 4), memcpy(p + 12, &tid, 4);
	memcpy(p + 16, &t, 8), memcpy(p + 24, &cpu, 4), memcpy(p + 28, &zero, 4);
	memcpy(p + 32, &size, 4), memcpy(p + 36, raw, sizeof(raw));
	used += h.size;
}

static void lost(uint64_t n)
{
	struct perf_event_header h = { .type = PERF_RECORD_LOST, .size = 24 };
	uint64_t id = 0;

	memcpy(buf + used, &h, 8), memcpy(buf + used + 8, &id, 8), memcpy(buf + used + 16, &n, 8);
	used += 24;
}

static struct kvm_trace_events ev;
static struct kvm_trace_acct ka;

static const struct kvm_trace_reason *reason(const char *name)
{
	for (unsigned i = 0; i < ka.n; i++)
		if (!strcmp(ka.r[i].name, name))
			return &ka.r[i];
	return NULL;
}

static void account(void)
{
	kvm_trace_acct_reset(&ka);
	TAP_EQ_INT(kvm_trace_acct_buffer(&ka, buf, used), 0, "hand-made records decode");
	used = 0;
}

#define VMX 1
#define SVM 2

static void test_pairing(void)
{
	const struct kvm_trace_reason *r;

	ev = (struct kvm_trace_events){ .exit = &f_exit, .entry = &f_entry, .pio = &f_pio,
					.mmio = &f_mmio, .userspace_exit = &f_uexit, .msr = &f_msr };
	kvm_trace_acct_init(&ka, &ev);

	/* VMX port write: exit, kvm_pio, entry 3000 ns later; twice */
	for (int i = 0; i < 2; i++) {
		sample(&f_exit, 7, 0, 1000 + i * 10000, "exit_reason", 30, "isa", VMX);
		sample(&f_pio, 7, 0, 1500 + i * 10000, "rw", 1, "port", 0x3f8);
		sample(&f_entry, 7, 0, 4000 + i * 10000, NULL, 0, NULL, 0);
	}
	/* SVM cpuid on another vCPU thread, interleaved with nothing */
	sample(&f_exit, 8, 1, 50000, "exit_reason", 0x72, "isa", SVM);
	sample(&f_entry, 8, 1, 50700, NULL, 0, NULL, 0);
	/* an unnamed VMX code, with the failed-entry bit: keeps the basic code */
	sample(&f_exit, 7, 0, 60000, "exit_reason", 0x8000005a, "isa", VMX);
	sample(&f_entry, 7, 0, 60100, NULL, 0, NULL, 0);
	/* VMX EPT misconfig with an MMIO write */
	sample(&f_exit, 7, 0, 70000, "exit_reason", 49, "isa", VMX);
	sample(&f_mmio, 7, 0, 70100, "type", 2, "gpa", 0xd0000000);
	sample(&f_entry, 7, 0, 72000, NULL, 0, NULL, 0);
	account();
	r = reason("vmx.io_instruction.pio_out");
	TAP_OK(r && r->count == 2 && r->timed && r->h.n == 2, "VMX io exit split by kvm_pio: 2, timed");
	TAP_OK(r && r->h.max == 3000, "... 3000 ns from exit to entry");
	r = reason("svm.cpuid");
	TAP_OK(r && r->count == 1 && r->h.max == 700, "SVM cpuid on another thread: 700 ns");
	TAP_OK(reason("vmx.0x5a") && reason("vmx.0x5a")->count == 1,
	       "an unnamed VMX code keeps its raw code (vmx.0x5a)");
	TAP_OK(reason("vmx.ept_misconfig.mmio_write") != NULL, "EPT misconfig split by kvm_mmio");
	TAP_EQ_INT(ka.exit_without_entry + ka.entry_without_exit + ka.migrations, 0,
		   "no edge case in the plain sequence");

	/* edge cases */
	sample(&f_exit, 7, 0, 1000, "exit_reason", 10, "isa", VMX); /* no entry follows */
	sample(&f_exit, 7, 0, 2000, "exit_reason", 10, "isa", VMX);
	sample(&f_entry, 7, 1, 2500, NULL, 0, NULL, 0);		    /* and it migrated */
	sample(&f_entry, 7, 1, 2600, NULL, 0, NULL, 0);		    /* entry without exit */
	sample(&f_exit, 7, 1, 3000, "exit_reason", 12, "isa", VMX);
	lost(5);						    /* its entry may be lost */
	sample(&f_entry, 7, 1, 9000, NULL, 0, NULL, 0);
	sample(&f_exit, 7, 1, 10000, "exit_reason", 12, "isa", VMX);
	sample(&f_entry, 7, 1, 9999, NULL, 0, NULL, 0); /* stamped before its exit */
	account();
	TAP_EQ_INT(ka.exit_without_entry, 1, "an exit followed by an exit: counted");
	TAP_EQ_INT(ka.migrations, 1, "a CPU change between exit and entry: counted");
	TAP_OK(reason("vmx.cpuid") && reason("vmx.cpuid")->h.n == 1 &&
		       reason("vmx.cpuid")->h.max == 500,
	       "... and the pair still timed from the later exit (500 ns)");
	TAP_EQ_INT(ka.entry_without_exit, 2, "entries without exit (one after the loss)");
	TAP_EQ_INT(ka.lost_records, 5, "lost records summed");
	TAP_EQ_INT(ka.dropped_pending, 1, "the open exit dropped at the loss");
	TAP_EQ_INT(ka.backwards, 1, "an entry before its exit: counted, not timed");
	TAP_OK(reason("vmx.hlt") && reason("vmx.hlt")->count == 1 && reason("vmx.hlt")->h.n == 0,
	       "... its exit counted without a time");

	/* events that fire without kvm_exit (PVM) are counted by kind */
	sample(&f_pio, 7, 0, 100, "rw", 0, "port", 0x80);
	sample(&f_uexit, 7, 0, 200, "reason", 2, "errno", 0);
	sample(&f_uexit, 7, 0, 300, "reason", 0, "errno", (uint64_t)-4);
	sample(&f_msr, 7, 0, 400, "write", 1, NULL, 0);
	sample(&f_mmio, 7, 0, 500, "type", 0, NULL, 0);
	account();
	TAP_OK(reason("kvm_pio.pio_in") && !reason("kvm_pio.pio_in")->timed, "kvm_pio alone: counted");
	TAP_OK(reason("kvm_userspace_exit.io") != NULL, "kvm_userspace_exit by KVM exit reason");
	TAP_OK(reason("kvm_userspace_exit.restart") != NULL, "... -EINTR is a restart");
	TAP_OK(reason("kvm_msr.write") != NULL, "kvm_msr write");
	TAP_OK(reason("kvm_mmio.mmio_read_unsatisfied") != NULL, "kvm_mmio by type");
}

static void test_decode_errors(void)
{
	struct kvm_trace_sample s;
	uint64_t n;
	uint8_t rec[64] = { 0 };
	struct perf_event_header h = { .type = PERF_RECORD_SAMPLE, .size = 40 };
	uint32_t big = 1000;

	memcpy(rec, &h, 8);
	memcpy(rec + 32, &big, 4);
	TAP_EQ_INT(kvm_trace_decode(rec, sizeof(rec), &s, &n), -EINVAL,
		   "raw size past the record: refused");
	h.size = 100;
	memcpy(rec, &h, 8);
	TAP_EQ_INT(kvm_trace_decode(rec, sizeof(rec), &s, &n), -EINVAL,
		   "record past the buffer: refused");
	h.size = 4;
	memcpy(rec, &h, 8);
	TAP_EQ_INT(kvm_trace_decode(rec, sizeof(rec), &s, &n), -EINVAL,
		   "record smaller than its header: refused");
	h = (struct perf_event_header){ .type = PERF_RECORD_LOST, .size = 16 };
	memcpy(rec, &h, 8);
	TAP_EQ_INT(kvm_trace_decode(rec, sizeof(rec), &s, &n), -EINVAL, "short LOST: refused");
	h = (struct perf_event_header){ .type = PERF_RECORD_THROTTLE, .size = 32 };
	memcpy(rec, &h, 8);
	TAP_EQ_INT(kvm_trace_decode(rec, sizeof(rec), &s, &n), KVM_TRACE_REC_OTHER,
		   "other record types are skipped");
}

/* ----------------------------------------------------- recorded */

#define BARE_ITERS 2 /* x HV_BARE_UNROLL port exits */

static void check_bare(const char *what)
{
	const struct kvm_trace_reason *pio = reason("kvm_pio.pio_out"),
				      *ue = reason("kvm_userspace_exit.io");
	char d[160];

	snprintf(d, sizeof(d), "%s: a kvm_pio write per bench exit (>= %d)", what,
		 BARE_ITERS * HV_BARE_UNROLL);
	TAP_OK(pio && pio->count >= BARE_ITERS * HV_BARE_UNROLL &&
		       pio->count <= BARE_ITERS * HV_BARE_UNROLL + 2,
	       d);
	snprintf(d, sizeof(d), "%s: as many kvm_userspace_exit io", what);
	TAP_OK(ue && pio && ue->count == pio->count, d);
	snprintf(d, sizeof(d), "%s: nothing lost or undecodable", what);
	TAP_EQ_INT(ka.lost_records + ka.undecodable, 0, d);
}

static void test_recorded(void)
{
	static uint8_t rec[1 << 20];
	size_t n = slurp("bare-pio.bin", rec, sizeof(rec));

	if (!n) {
		TAP_SKIP("no tests/fixtures/kvm_trace/bare-pio.bin");
		return;
	}
	kvm_trace_acct_reset(&ka);
	TAP_EQ_INT(kvm_trace_acct_buffer(&ka, rec, n), 0, "recorded ring data decodes");
	check_bare("recorded");
}

/* -------------------------------------------------------- live */

static void test_live(void)
{
	static const char *const names[] = { "kvm_exit", "kvm_entry", "kvm_pio", "kvm_mmio",
					     "kvm_userspace_exit", "kvm_msr" };
	struct hv_bare_guest g;
	struct kvm_trace *t;
	const char *path = getenv("HVB_KVM_TRACE_RECORD");
	char err[200] = "";
	FILE *out = NULL;
	int r;

	if (geteuid() || access("/dev/kvm", R_OK | W_OK)) {
		TAP_SKIP("live: needs root and /dev/kvm");
		return;
	}
	if ((r = kvm_trace_open(&t, (pid_t)gettid(), names, 6, err, sizeof(err)))) {
		printf("# %s\n", err);
		TAP_SKIP("live: cannot open the kvm tracepoints here");
		return;
	}
	if (hv_bare_guest_create(&g, BARE_ITERS, false)) {
		kvm_trace_close(t);
		TAP_SKIP("live: cannot create the bare guest");
		return;
	}
	if (path && (out = fopen(path, "wb")))
		kvm_trace_record_to(t, out);
	kvm_trace_acct_init(&ka, kvm_trace_events(t));
	kvm_trace_enable(t, true);
	r = hv_bare_run(g.vcpu, 0, NULL);
	kvm_trace_enable(t, false);
	TAP_EQ_INT(r, 0, "live: the bare guest ran");
	TAP_EQ_INT(kvm_trace_drain(t, &ka), 0, "live: ring drained");
	for (unsigned i = 0; i < ka.n; i++)
		printf("# %s %llu%s\n", ka.r[i].name, (unsigned long long)ka.r[i].count,
		       ka.r[i].timed ? " timed" : "");
	if (reason("vmx.io_instruction.pio_out") || reason("svm.io.pio_out"))
		TAP_OK(1, "live: kvm_exit/kvm_entry fire here (hardware VMX/SVM)");
	else
		check_bare("live");
	if (out)
		fclose(out);
	kvm_trace_close(t);
	hv_bare_guest_destroy(&g);
}

int main(void)
{
	fixtures_init();
	test_formats();
	test_bad_formats();
	test_get();
	test_pairing();
	test_decode_errors();
	test_recorded();
	test_live();
	return tap_done();
}
