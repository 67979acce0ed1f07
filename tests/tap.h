/*
 * A tiny TAP producer for hvbench tests (host, and later inside the guest:
 * define TAP_PRINTF before including to redirect output).
 *
 *	int main(void) {
 *		TAP_OK(1 + 1 == 2, "arithmetic");
 *		TAP_EQ_INT(f(), 3, "f returns 3");
 *		TAP_SKIP("no /dev/kvm");
 *		return tap_done();
 *	}
 *
 * Each check prints "ok N - desc" or "not ok N - desc" followed by
 * "# <expr> at file:line" diagnostics; tests/run adds the lines up.
 */
#ifndef HVB_TAP_H
#define HVB_TAP_H

#ifndef TAP_PRINTF
#include <stdio.h>
#define TAP_PRINTF printf
#endif

static int tap_n, tap_failed;

static inline int tap_ok_(int ok, const char *expr, const char *file, int line, const char *desc)
{
	tap_n++;
	TAP_PRINTF("%sok %d - %s\n", ok ? "" : "not ", tap_n, desc);
	if (!ok) {
		tap_failed++;
		TAP_PRINTF("#   failed: %s\n#   at %s:%d\n", expr, file, line);
	}
	return ok;
}

#define TAP_OK(cond, desc) tap_ok_(!!(cond), #cond, __FILE__, __LINE__, desc)

#define TAP_EQ_INT(a, b, desc)                                                                  \
	({                                                                                     \
		long long a_ = (long long)(a), b_ = (long long)(b);                            \
		int r_ = tap_ok_(a_ == b_, #a " == " #b, __FILE__, __LINE__, desc);            \
		if (!r_)                                                                       \
			TAP_PRINTF("#   got %lld, expected %lld\n", a_, b_);                   \
		r_;                                                                            \
	})

#define TAP_EQ_STR(a, b, desc)                                                                  \
	({                                                                                     \
		const char *a_ = (a), *b_ = (b);                                               \
		int r_ = tap_ok_(a_ && b_ && !__builtin_strcmp(a_, b_), #a " == " #b, __FILE__, \
				 __LINE__, desc);                                              \
		if (!r_)                                                                       \
			TAP_PRINTF("#   got '%s', expected '%s'\n", a_ ? a_ : "(null)",        \
				   b_ ? b_ : "(null)");                                        \
		r_;                                                                            \
	})

#define TAP_SKIP(why)                                                                           \
	do {                                                                                   \
		tap_n++;                                                                       \
		TAP_PRINTF("ok %d # SKIP %s\n", tap_n, why);                                   \
	} while (0)

/* Print the plan; exit status 1 if anything failed. */
static inline int tap_done(void)
{
	TAP_PRINTF("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
