/*
 * Folders of runs (results/FORMAT.md "Folders of runs"): a directory whose
 * children are run directories, such as an `hvbench run --out` parent or
 * what `hvbench merge` writes.  compare and merge take one wherever they
 * take a run directory; this expands it to its runs.
 */
#ifndef HVB_RUNFOLDER_H
#define HVB_RUNFOLDER_H

#include <stdbool.h>
#include <stddef.h>

/* Does dir hold a meta.csv (is it a run directory rather than a folder)? */
bool hvb_is_run_dir(const char *dir);

/*
 * Append to *v (*n entries, malloc'ed strings) the run directories that
 * path stands for: path itself when it is a run directory, else each child
 * of it that is one, sorted by name.  Symbolic links among the children
 * (results/latest) and names starting with '.' are left out, so no run is
 * listed twice.  A path that is neither a run nor holds one is -ENOENT
 * (-errno when it cannot be read), with err saying what it is.
 */
int hvb_runs_expand(const char *path, char ***v, size_t *n, char *err, size_t errlen);

void hvb_runs_free(char **v, size_t n);

#endif
