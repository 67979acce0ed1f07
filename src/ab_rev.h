/*
 * Sides of `hvbench ab` that are git revisions of hvbench itself (as
 * Firecracker's A/B tool builds both commits): each revision is checked out
 * into a private worktree under ab's output directory, built with the
 * repository's Makefile, and its binary runs the side; the worktree is
 * removed at the end, also after a failure or a signal.
 */
#ifndef HVB_AB_REV_H
#define HVB_AB_REV_H

#include <stddef.h>

#include "ab_side.h"

/* Resolve s->cli->rev to a commit of the repository at repo: s->commit and
 * the side's identity.  0, or -1 after an error. */
int ab_rev_resolve(struct ab_side *s, const char *repo);

/*
 * Check the resolved commit out detached into
 * OUT/src-<side> and run `make -j<CPUs> O=build <make_args>` there, output in
 * OUT/build-<side>.log; then s->bin is OUT/src-<side>/build/hvbench and
 * s->commit, s->describe say what was built.  0, or -1 after an error that
 * names the revision and the log.
 */
int ab_rev_build(struct ab_side *s, const char *repo, const char *out, char **make_args,
		 size_t n_make_args);

/* Remove the side's worktree (if it made one) from disk and from git. */
void ab_rev_remove(struct ab_side *s, const char *repo);

#endif
