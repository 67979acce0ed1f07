/*
 * Small helpers shared by the host side: error reporting and checked
 * allocation.  Library code returns 0 or -errno; only commands print.
 */
#ifndef HVB_UTIL_H
#define HVB_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Print "hvbench: <msg>\n" to stderr. */
void hvb_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "hvbench: warning: <msg>\n" to stderr. */
void hvb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* malloc/calloc/strdup that abort with a message on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
/* asprintf / vasprintf that abort on exhaustion. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy src into dst (size n), always NUL-terminated, truncating. */
void hvb_strlcpy(char *dst, const char *src, size_t n);

/* Untrusted text (a guest's, a child's) for a log or meta.csv: at most max
 * bytes of text, up to its first NUL, control bytes and DEL as '?'; always
 * NUL-terminated in out (size len). */
void hvb_printable(char *out, size_t len, const char *text, size_t max);

/* Monotonic clock in nanoseconds. */
uint64_t hvb_now_ns(void);

/* Read a whole small text file into buf (NUL-terminated, trailing newline
 * stripped).  0 or -errno. */
int hvb_read_file(const char *path, char *buf, size_t len);

/* mkdir -p: create path and its missing parents (mode 0755); an existing
 * directory is fine.  0 or -errno. */
int hvb_mkdir_p(const char *path);

/* fsync the directory that holds path (after creating or renaming an entry
 * in it), so the entry is durable.  0 or -errno. */
int hvb_fsync_parent(const char *path);

/* fsync a directory (after creating, renaming or removing an entry in it,
 * so the change survives a crash).  0 or -errno. */
int hvb_fsync_dir(const char *dir);

/* fnmatch-style glob match of a workload/runner name (e.g. micro/ followed by a star). */
int hvb_glob_match(const char *pattern, const char *name);

/* Parse a whole unsigned decimal number within [min, max]: 0 or -EINVAL/-ERANGE. */
int hvb_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Version string and git commit of this build. */
extern const char hvb_version[];
extern const char hvb_commit[];

/* "PATH:LINE: message" into err (a malformed file's line); returns -EINVAL. */
int hvb_file_line_errf(char *err, size_t len, const char *path, long line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
