#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int hvb_outfile_open(struct hvb_outfile *o, const char *path, char *err, size_t errlen)
{
	*o = (struct hvb_outfile){ .path = xstrdup(path) };
	o->tmp = xasprintf("%s.tmp-%d", path, (int)getpid());
	o->f = fopen(o->tmp, "w");
	if (!o->f) {
		int e = errno;

		snprintf(err, errlen, "cannot create %s: %s (choose another --out)", o->tmp,
			 strerror(e));
		free(o->path), free(o->tmp);
		return -e;
	}
	return 0;
}

static void outfile_free(struct hvb_outfile *o)
{
	free(o->path), free(o->tmp);
	o->path = o->tmp = NULL;
	o->f = NULL;
}

int hvb_outfile_commit(struct hvb_outfile *o, char *err, size_t errlen)
{
	int r = 0;

	if (fflush(o->f) || fsync(fileno(o->f)) || ferror(o->f))
		r = -(errno ? errno : EIO);
	if (fclose(o->f) && !r)
		r = -errno;
	if (!r && rename(o->tmp, o->path))
		r = -errno;
	if (r) {
		snprintf(err, errlen, "cannot write %s: %s (free space or choose another --out)",
			 o->path, strerror(-r));
		unlink(o->tmp);
	} else if ((r = hvb_fsync_parent(o->path))) {
		snprintf(err, errlen, "cannot fsync the directory of %s: %s", o->path,
			 strerror(-r));
	}
	outfile_free(o);
	return r;
}

void hvb_outfile_abort(struct hvb_outfile *o)
{
	if (o->f) {
		fclose(o->f);
		unlink(o->tmp);
	}
	outfile_free(o);
}
