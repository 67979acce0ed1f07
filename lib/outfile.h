/*
 * An output file written atomically: to PATH.tmp-<pid> first, fsync'ed,
 * renamed over PATH and the directory fsync'ed, so a reader of PATH finds
 * the old file or the whole new one, never a half-written export.
 */
#ifndef HVB_OUTFILE_H
#define HVB_OUTFILE_H

#include <stdio.h>

struct hvb_outfile {
	char *path, *tmp;
	FILE *f;
};

/* Open the temporary file.  0, or -errno with a message in err. */
int hvb_outfile_open(struct hvb_outfile *o, const char *path, char *err, size_t errlen);
/* Flush, fsync, rename over the path.  0, or -errno with a message in err
 * (the temporary file is removed). */
int hvb_outfile_commit(struct hvb_outfile *o, char *err, size_t errlen);
/* Give up: close and remove the temporary file. */
void hvb_outfile_abort(struct hvb_outfile *o);

#endif
