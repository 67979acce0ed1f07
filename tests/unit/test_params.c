/*
 * --param resolution (runners/common/config.c hvb_config_params) and the
 * words the runners pass on (runners/common/guest.c hvb_param_words),
 * against the real svc/open-loop descriptor: defaults for every parameter
 * of the selection, a given value, the errors (unknown key with the list
 * of accepted ones, out of range, malformed, given twice), and keys of
 * workloads that are not selected refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "guest.h"
#include "tap.h"

static const char *const ol[] = { "svc/open-loop" };
static const char *const plain[] = { "cpu/sha256" };

static int resolve(struct hvb_config *cfg, const char *const *w, size_t n,
		   const char *const *args, unsigned nargs, char *err, size_t len)
{
	memset(cfg, 0, sizeof(*cfg));
	err[0] = '\0';
	return hvb_config_params(cfg, w, n, args, nargs, err, len);
}

static const struct hvb_param_value *find(const struct hvb_config *cfg, const char *key)
{
	for (unsigned i = 0; i < cfg->params.n; i++)
		if (!strcmp(cfg->params.v[i].key, key))
			return &cfg->params.v[i];
	return NULL;
}

static void test_defaults_and_words(void)
{
	struct hvb_config cfg;
	const char *const args[] = { "open-loop.rate=20000" };
	char err[2048], *words;

	TAP_EQ_INT(resolve(&cfg, ol, 1, NULL, 0, err, sizeof(err)), 0, "no --param: resolves");
	TAP_EQ_INT(cfg.params.n, 4, "svc/open-loop: four parameters");
	TAP_OK(find(&cfg, "open-loop.rate") && find(&cfg, "open-loop.rate")->value == 2000 &&
		       !find(&cfg, "open-loop.rate")->given,
	       "open-loop.rate: default 2000, not given");
	words = hvb_param_words(&cfg.params);
	TAP_EQ_STR(words,
		   "param.open-loop.rate=2000 param.open-loop.work_ns=2000 "
		   "param.open-loop.stall_us=0 param.open-loop.stall_every=0",
		   "words: every parameter, defaults included");
	free(words);

	TAP_EQ_INT(resolve(&cfg, ol, 1, args, 1, err, sizeof(err)), 0, "a given value resolves");
	TAP_OK(find(&cfg, "open-loop.rate")->value == 20000 && find(&cfg, "open-loop.rate")->given,
	       "... and is used, marked given");

	TAP_EQ_INT(resolve(&cfg, plain, 1, NULL, 0, err, sizeof(err)), 0, "no parameters: fine");
	words = hvb_param_words(&cfg.params);
	TAP_EQ_STR(words, "", "no parameters: no words");
	free(words);
}

static void test_errors(void)
{
	struct hvb_config cfg;
	const char *const bogus[] = { "bogus.x=1" };
	const char *const high[] = { "open-loop.rate=1000001" };
	const char *const neg[] = { "open-loop.rate=-1" };
	const char *const noeq[] = { "open-loop.rate" };
	const char *const twice[] = { "open-loop.rate=5", "open-loop.rate=6" };
	const char *const other[] = { "open-loop.rate=5" };
	char err[2048];

	TAP_EQ_INT(resolve(&cfg, ol, 1, bogus, 1, err, sizeof(err)), -EINVAL, "unknown key refused");
	TAP_OK(strstr(err, "'bogus.x'") &&
		       strstr(err, "open-loop.rate (req/s, 1-1000000, default 2000)") &&
		       strstr(err, "open-loop.stall_every"),
	       "... naming it and listing the accepted keys with ranges");
	TAP_EQ_INT(resolve(&cfg, ol, 1, high, 1, err, sizeof(err)), -EINVAL, "above the range refused");
	TAP_OK(strstr(err, "from 1 to 1000000"), "... with the range");
	TAP_EQ_INT(resolve(&cfg, ol, 1, neg, 1, err, sizeof(err)), -EINVAL, "negative refused");
	TAP_EQ_INT(resolve(&cfg, ol, 1, noeq, 1, err, sizeof(err)), -EINVAL, "no '=' refused");
	TAP_OK(strstr(err, "KEY=VALUE"), "... saying the form");
	TAP_EQ_INT(resolve(&cfg, ol, 1, twice, 2, err, sizeof(err)), -EINVAL, "a key twice refused");
	TAP_EQ_INT(resolve(&cfg, plain, 1, other, 1, err, sizeof(err)), -EINVAL,
		   "a key of a workload not selected refused");
	TAP_OK(strstr(err, "take no parameters"), "... saying the selection takes none");
}

int main(void)
{
	test_defaults_and_words();
	test_errors();
	return tap_done();
}
