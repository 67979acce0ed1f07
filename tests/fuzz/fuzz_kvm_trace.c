/*
 * Fuzzer: the kvm tracepoint decoders (probes/kvm_trace.c).  Input: perf
 * ring-buffer records as kvm_trace_drain reads them (the seed is
 * tests/fixtures/kvm_trace/bare-pio.bin), accounted against formats given
 * here (the offsets of this host's tracefs, with the recorded IDs); the
 * same bytes also go to the format-file parser.
 *
 * Decoding must refuse a record whose sizes do not hold together, never
 * read outside the input (ASan), and the accounting must stay within its
 * tables: reasons and vCPUs below their limits, every timed reason with no
 * more times than exits, every name terminated.
 */
#include <string.h>

#include "fuzz.h"
#include "kvm_trace.h"

static const char *const formats[] = {
	"name: kvm_exit\nID: 103\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:u32 isa;\toffset:24;\tsize:4;\tsigned:0;\n",
	"name: kvm_entry\nID: 115\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n",
	"name: kvm_pio\nID: 110\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:unsigned int rw;\toffset:8;\tsize:4;\tsigned:0;\n",
	"name: kvm_mmio\nID: 38\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	"\tfield:u32 type;\toffset:8;\tsize:4;\tsigned:0;\n",
	"name: kvm_userspace_exit\nID: 42\n"
	"\tfield:__u32 reason;\toffset:8;\tsize:4;\tsigned:0;\n"
	"\tfield:int errno;\toffset:12;\tsize:4;\tsigned:1;\n",
	"name: kvm_msr\nID: 99\n\tfield:unsigned write;\toffset:8;\tsize:4;\tsigned:0;\n",
};

static struct kvm_trace_format fmt[6];
static struct kvm_trace_events ev;
static struct kvm_trace_acct ka;

static void setup(void)
{
	char err[160];

	for (int i = 0; i < 6; i++)
		FUZZ_CHECK(!kvm_trace_format_parse(formats[i], strlen(formats[i]), &fmt[i], err,
						   sizeof(err)));
	ev = (struct kvm_trace_events){ .exit = &fmt[0], .entry = &fmt[1], .pio = &fmt[2],
					.mmio = &fmt[3], .userspace_exit = &fmt[4], .msr = &fmt[5] };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct kvm_trace_format f;
	char err[160];

	if (!ready++)
		setup();
	kvm_trace_acct_init(&ka, &ev);
	(void)kvm_trace_acct_buffer(&ka, data, size);
	FUZZ_CHECK(ka.n <= KVM_TRACE_MAX_REASONS && ka.nv <= KVM_TRACE_MAX_VCPUS);
	for (unsigned i = 0; i < ka.n; i++) {
		FUZZ_CHECK(fuzz_terminated(ka.r[i].name, sizeof(ka.r[i].name)));
		FUZZ_CHECK(ka.r[i].h.n <= ka.r[i].count);
	}
	if (!kvm_trace_format_parse((const char *)data, size, &f, err, sizeof(err)))
		FUZZ_CHECK(f.id && f.name[0] && f.n <= KVM_TRACE_MAX_FIELDS);
	return 0;
}
