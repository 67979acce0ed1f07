/*
 * Placing one run into a merge folder (hvbench merge, results/FORMAT.md
 * "Merge folders"): FOLDER/<run-id>/ with the run's files, hard-linked
 * when source and folder share a file system, else copied, and nothing
 * visible under that name until every file is there.
 */
#ifndef HVB_MERGE_PLACE_H
#define HVB_MERGE_PLACE_H

#include <stdbool.h>
#include <stddef.h>

/* The temporary name a run is assembled under: FOLDER/.merge-<run-id>.tmp
 * (a killed merge leaves it; the next merge removes it). */
#define HVB_MERGE_TMP_PREFIX ".merge-"

/*
 * Do run directories a and b hold the same files with the same bytes?
 * Every regular file counts except meta.csv.tmp (the writer's reservation
 * for its last meta.csv, whatever it holds).  1 same, 0 different (why
 * names the first difference), -errno when one cannot be read (why too).
 */
int hvb_merge_same(const char *a, const char *b, char *why, size_t len);

/*
 * Put run directory src into folder as folder/<run_id>: each file linked
 * (*linked true) where may_link and the file system allow it, else copied
 * and fsync'ed (a run that did not complete is never linked: a writer that
 * is still appending to, or cutting back, its *.partial files would change
 * the merged copy under it), into the
 * temporary directory, which is then renamed and the folder fsync'ed.
 * folder/<run_id> must not exist.  0, or -errno with err naming the file.
 */
int hvb_merge_place(const char *folder, const char *src, const char *run_id, bool may_link,
		    bool *linked, char *err, size_t errlen);

/* Remove the temporary directories a killed merge left in folder. */
void hvb_merge_clean(const char *folder);

#endif
