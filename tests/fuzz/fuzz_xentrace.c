/*
 * Fuzzer: the xentrace file parser (probes/xentrace.c).  Input: a trace
 * file as xentrace writes it in dom0 (the seeds are tests/fixtures/xentrace).
 *
 * xt_parse() for domain 3 (the HVM fixture's guest) and domain 0 (the PV
 * one).  An error must come with a message and leave nothing to free; a
 * summary must add up: reasons ascending and unique, counts and cycles
 * summing to the totals, every repetition's exits among the domain's, its
 * begin before its end.  Every exit code gets its name under both vendors
 * (the name tables are indexed by guest-controlled codes), into a buffer
 * of the size exits.csv uses and into a short one.
 */
#include "fuzz.h"
#include "xentrace.h"

static void check_name(uint32_t code)
{
	static const enum xt_vendor vendors[] = {XT_SVM, XT_VMX};
	char buf[64], small[6];

	for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++) {
		FUZZ_CHECK(xt_exit_name(vendors[i], code, buf, sizeof(buf)) == buf);
		FUZZ_CHECK(buf[0] && fuzz_terminated(buf, sizeof(buf)));
		FUZZ_CHECK(xt_exit_name(vendors[i], code, small, sizeof(small)) == small);
		FUZZ_CHECK(fuzz_terminated(small, sizeof(small)));
	}
}

/* A summary adds up (and every code has a name). */
static void check_counts(const struct xt_counts *k, bool names)
{
	uint64_t exits = 0, cycles = 0;

	FUZZ_CHECK(!k->n_reasons == !k->reasons);
	for (size_t i = 0; i < k->n_reasons; i++) {
		const struct xt_reason *r = &k->reasons[i];

		FUZZ_CHECK(i == 0 || k->reasons[i - 1].code < r->code);
		FUZZ_CHECK(r->count > 0);
		exits += r->count;
		cycles += r->cycles;
		if (names)
			check_name(r->code);
	}
	FUZZ_CHECK(exits == k->exits && cycles == k->cycles);
}

static uint64_t count_of(const struct xt_counts *k, uint32_t code)
{
	for (size_t i = 0; i < k->n_reasons; i++)
		if (k->reasons[i].code == code)
			return k->reasons[i].count;
	return 0;
}

static void parse(const uint8_t *data, size_t size, uint16_t domid)
{
	struct xt_trace t;
	uint64_t in_reps = 0;
	int r = xt_parse(data, size, domid, &t);

	if (r) {
		FUZZ_CHECK(r == -EPROTO || r == -ENOMEM);
		FUZZ_CHECK(t.error[0] && fuzz_terminated(t.error, sizeof(t.error)));
		FUZZ_CHECK(!t.reps && !t.n_reps && !t.domain.reasons && !t.domain.n_reasons);
		return;
	}
	FUZZ_CHECK(t.first_tsc <= t.last_tsc || !t.first_tsc);
	FUZZ_CHECK(t.domain_seen || !t.domain.exits);
	check_counts(&t.domain, true);
	for (size_t i = 0; i < t.n_reps; i++) {
		const struct xt_rep *rep = &t.reps[i];

		FUZZ_CHECK(rep->begin_tsc <= rep->end_tsc);
		FUZZ_CHECK(rep->lost <= t.lost);
		check_counts(&rep->c, false);
		for (size_t j = 0; j < rep->c.n_reasons; j++)
			FUZZ_CHECK(rep->c.reasons[j].count <=
				   count_of(&t.domain, rep->c.reasons[j].code));
		in_reps += rep->c.exits;
	}
	/* An exit belongs to at most one open repetition of its vCPU. */
	FUZZ_CHECK(in_reps <= t.domain.exits);
	xt_trace_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size, 3);
	parse(data, size, 0);
	return 0;
}
