#include <string.h>

#include "runner.h"

extern const struct hvb_runner *const __start_hvb_runners[];
extern const struct hvb_runner *const __stop_hvb_runners[];

const struct hvb_runner *const *hvb_runners_begin(void)
{
	return __start_hvb_runners;
}

const struct hvb_runner *const *hvb_runners_end(void)
{
	return __stop_hvb_runners;
}

const struct hvb_runner *hvb_runner_find(const char *name)
{
	for (const struct hvb_runner *const *r = hvb_runners_begin(); r < hvb_runners_end(); r++)
		if (!strcmp((*r)->name, name))
			return *r;
	return NULL;
}
