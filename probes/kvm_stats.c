/*
 * KVM binary statistics reader.  Layout (api.rst, "KVM_GET_STATS_FD"):
 *
 *	+-------------+ 0
 *	| header      |
 *	| id string   | id_offset, name_size bytes
 *	| descriptors | desc_offset, num_desc * (sizeof(desc) + name_size)
 *	| data        | data_offset; statistic i at data_offset + desc->offset
 *	+-------------+
 *
 * Only the data block changes while the VM lives, so it is the only thing a
 * snapshot reads.
 */
#include "kvm_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Sanity bounds against a confused kernel or a wrong fd. */
#define KVM_STATS_MAX_DESC     4096
#define KVM_STATS_MAX_NAME     1024
#define KVM_STATS_MAX_DATA_U64 (1u << 20)

struct kvm_stat {
	const char *name;
	enum kvm_stat_type type;
	const char *unit;
	double scale;     /* raw value * scale = normalised value */
	uint32_t off;     /* in u64 items from data_offset */
	uint16_t size;    /* u64 items (buckets for histograms) */
	uint32_t bucket;  /* linear histogram bucket width (raw units) */
	int exponent;
	bool pow2;
};

struct kvm_stats {
	int fd;
	uint32_t data_offset;
	size_t data_n; /* u64 items a snapshot reads */
	unsigned n;
	struct kvm_stat *stat;
	char *names; /* descriptor block, names point into it */
	char id[KVM_STATS_MAX_NAME];
};

const char *kvm_stats_strerror(int err)
{
	switch (err) {
	case -ENOTTY:
	case -EINVAL:
		return "KVM binary statistics not supported by this kernel "
		       "(KVM_GET_STATS_FD needs KVM_CAP_BINARY_STATS_FD, Linux >= 5.14)";
	case -EPROTO:
		return "KVM statistics layout not understood (unexpected header or descriptor)";
	case -ENOMEM:
		return "out of memory reading KVM statistics descriptors";
	case -EBADF:
		return "not a VM or vCPU file descriptor";
	}
	return strerror(-err);
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t r = pread(fd, buf, len, off);

	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EIO;
}

static double pow_int(double base, int e)
{
	return pow(base, (double)e);
}

/* Decode the flags of one descriptor into a normalised unit and scale. */
static int stat_decode(struct kvm_stat *s, uint32_t flags, int16_t exponent)
{
	uint32_t type = flags & KVM_STATS_TYPE_MASK, unit = flags & KVM_STATS_UNIT_MASK;
	uint32_t base = flags & KVM_STATS_BASE_MASK;

	if (type > KVM_STATS_TYPE_MAX || unit > KVM_STATS_UNIT_MAX || base > KVM_STATS_BASE_MAX)
		return -EPROTO;
	s->type = (enum kvm_stat_type)(type >> KVM_STATS_TYPE_SHIFT);
	s->exponent = exponent;
	s->pow2 = base == KVM_STATS_BASE_POW2;
	s->scale = pow_int(s->pow2 ? 2.0 : 10.0, exponent);
	switch (unit) {
	case KVM_STATS_UNIT_SECONDS:
		/* Kernel time stats are in ns (exponent -9); normalise any exponent. */
		s->unit = "ns";
		s->scale *= 1e9;
		break;
	case KVM_STATS_UNIT_BYTES:
		s->unit = "bytes";
		break;
	case KVM_STATS_UNIT_CYCLES:
		s->unit = "cycles";
		break;
	case KVM_STATS_UNIT_BOOLEAN:
		s->unit = "boolean";
		break;
	default:
		s->unit = "count";
		break;
	}
	return 0;
}

static int stats_read_layout(struct kvm_stats *st)
{
	struct kvm_stats_header h;
	size_t dsz, i;
	int r;

	r = pread_full(st->fd, &h, sizeof(h), 0);
	if (r)
		return r == -EIO ? -EPROTO : r;
	if (!h.num_desc || h.num_desc > KVM_STATS_MAX_DESC || !h.name_size ||
	    h.name_size > KVM_STATS_MAX_NAME)
		return -EPROTO;
	r = pread_full(st->fd, st->id, h.name_size, h.id_offset);
	if (r)
		return r == -EIO ? -EPROTO : r;
	st->id[h.name_size - 1] = '\0';

	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	st->names = malloc(dsz * h.num_desc);
	st->stat = calloc(h.num_desc, sizeof(*st->stat));
	if (!st->names || !st->stat)
		return -ENOMEM;
	r = pread_full(st->fd, st->names, dsz * h.num_desc, h.desc_offset);
	if (r)
		return r == -EIO ? -EPROTO : r;

	st->n = h.num_desc;
	st->data_offset = h.data_offset;
	for (i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(st->names + i * dsz);
		struct kvm_stat *s = &st->stat[i];

		d->name[h.name_size - 1] = '\0';
		if (d->offset % sizeof(uint64_t) || !d->size)
			return -EPROTO;
		r = stat_decode(s, d->flags, d->exponent);
		if (r)
			return r;
		s->name = d->name;
		s->off = d->offset / sizeof(uint64_t);
		s->size = d->size;
		s->bucket = d->bucket_size;
		if ((size_t)s->off + s->size > KVM_STATS_MAX_DATA_U64)
			return -EPROTO;
		if ((size_t)s->off + s->size > st->data_n)
			st->data_n = (size_t)s->off + s->size;
	}
	return 0;
}

int kvm_stats_open(int kvm_fd, struct kvm_stats **out)
{
	int fd;

	*out = NULL;
	fd = ioctl(kvm_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return -errno;
	return kvm_stats_open_statsfd(fd, out);
}

int kvm_stats_open_statsfd(int fd, struct kvm_stats **out)
{
	struct kvm_stats *st;
	int r;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st) {
		close(fd);
		return -ENOMEM;
	}
	st->fd = fd;
	r = stats_read_layout(st);
	if (r)
		goto fail;
	*out = st;
	return 0;
fail:
	kvm_stats_close(st);
	return r;
}

void kvm_stats_close(struct kvm_stats *st)
{
	if (!st)
		return;
	close(st->fd);
	free(st->stat);
	free(st->names);
	free(st);
}

const char *kvm_stats_id(const struct kvm_stats *st)
{
	return st->id;
}

unsigned kvm_stats_count(const struct kvm_stats *st)
{
	return st->n;
}

const char *kvm_stats_name(const struct kvm_stats *st, unsigned i)
{
	return i < st->n ? st->stat[i].name : NULL;
}

enum kvm_stat_type kvm_stats_type(const struct kvm_stats *st, unsigned i)
{
	return st->stat[i].type;
}

const char *kvm_stats_unit(const struct kvm_stats *st, unsigned i)
{
	return st->stat[i].unit;
}

int kvm_stats_find(const struct kvm_stats *st, const char *name)
{
	for (unsigned i = 0; i < st->n; i++)
		if (!strcmp(st->stat[i].name, name))
			return (int)i;
	return -ENOENT;
}

int kvm_stats_snap_init(const struct kvm_stats *st, struct kvm_stats_snap *snap)
{
	snap->data = calloc(st->data_n, sizeof(uint64_t));
	snap->n = snap->data ? st->data_n : 0;
	return snap->data ? 0 : -ENOMEM;
}

void kvm_stats_snap_free(struct kvm_stats_snap *snap)
{
	free(snap->data);
	snap->data = NULL;
	snap->n = 0;
}

int __kvm_stats_snapshot(const struct kvm_stats *st, struct kvm_stats_snap *snap)
{
	return pread_full(st->fd, snap->data, st->data_n * sizeof(uint64_t), st->data_offset);
}

int kvm_stats_snapshot(const struct kvm_stats *st, struct kvm_stats_snap *snap)
{
	if (!snap->data || snap->n != st->data_n)
		return -EINVAL;
	return __kvm_stats_snapshot(st, snap);
}

double kvm_stats_value(const struct kvm_stats *st, const struct kvm_stats_snap *snap, unsigned i)
{
	const struct kvm_stat *s = &st->stat[i];

	return (double)snap->data[s->off] * s->scale;
}

static bool stat_is_cumulative(const struct kvm_stat *s)
{
	return s->type != KVM_STAT_INSTANT && s->type != KVM_STAT_PEAK;
}

/* Change of item k of statistic s, in raw units (exact in u64 arithmetic). */
static double item_change(const struct kvm_stat *s, const struct kvm_stats_snap *before,
			  const struct kvm_stats_snap *after, unsigned k)
{
	uint64_t a = after->data[s->off + k], b = before->data[s->off + k];

	if (!stat_is_cumulative(s))
		return (double)a;
	/* A counter never goes back; if it did (reset), report the negative
	 * change rather than a huge wrapped number. */
	return a >= b ? (double)(a - b) : -(double)(b - a);
}

double kvm_stats_change(const struct kvm_stats *st, const struct kvm_stats_snap *before,
			const struct kvm_stats_snap *after, unsigned i)
{
	const struct kvm_stat *s = &st->stat[i];

	return item_change(s, before, after, 0) * s->scale;
}

/* Bounds of bucket k of a histogram, in the statistic's normalised unit. */
static void bucket_bounds(const struct kvm_stat *s, unsigned k, double *lo, double *hi)
{
	if (s->type == KVM_STAT_LINEAR_HIST) {
		*lo = (double)k * s->bucket;
		*hi = (double)(k + 1) * s->bucket;
	} else {
		/* Bucket k holds values v with fls64(v) == k: 0, 1, [2,4), [4,8) ... */
		*lo = k ? ldexp(1.0, (int)k - 1) : 0;
		*hi = ldexp(1.0, (int)k);
	}
	*lo *= s->scale;
	*hi *= s->scale;
	if (k + 1u == s->size)
		*hi = INFINITY; /* the last bucket takes everything above */
}

static int hist_delta(const struct kvm_stat *s, const struct kvm_stats_snap *before,
		      const struct kvm_stats_snap *after, kvm_stats_cb cb, void *arg)
{
	char name[KVM_STATS_MAX_NAME + 64];
	double lo, hi, d;
	int r;

	for (unsigned k = 0; k < s->size; k++) {
		d = item_change(s, before, after, k);
		if (d == 0)
			continue;
		bucket_bounds(s, k, &lo, &hi);
		if (isinf(hi))
			snprintf(name, sizeof(name), "%s[%.17g,inf)", s->name, lo);
		else
			snprintf(name, sizeof(name), "%s[%.17g,%.17g)", s->name, lo, hi);
		/* A bucket counts events: its unit is a count whatever the
		 * unit of the bounds. */
		r = cb(arg, name, d, "count", true);
		if (r)
			return r;
	}
	return 0;
}

/* A scalar statistic with several items (none in Linux 6.x, allowed by the ABI). */
static int array_delta(const struct kvm_stat *s, const struct kvm_stats_snap *before,
		       const struct kvm_stats_snap *after, kvm_stats_cb cb, void *arg)
{
	char name[KVM_STATS_MAX_NAME + 16];
	int r;

	for (unsigned k = 0; k < s->size; k++) {
		snprintf(name, sizeof(name), "%s[%u]", s->name, k);
		r = cb(arg, name, item_change(s, before, after, k) * s->scale, s->unit,
		       stat_is_cumulative(s));
		if (r)
			return r;
	}
	return 0;
}

int kvm_stats_delta(const struct kvm_stats *st, const struct kvm_stats_snap *before,
		    const struct kvm_stats_snap *after, kvm_stats_cb cb, void *arg)
{
	int r;

	if (before->n != st->data_n || after->n != st->data_n)
		return -EINVAL;
	for (unsigned i = 0; i < st->n; i++) {
		const struct kvm_stat *s = &st->stat[i];

		if (s->type == KVM_STAT_LINEAR_HIST || s->type == KVM_STAT_LOG_HIST)
			r = hist_delta(s, before, after, cb, arg);
		else if (s->size > 1)
			r = array_delta(s, before, after, cb, arg);
		else
			r = cb(arg, s->name, kvm_stats_change(st, before, after, i), s->unit,
			       stat_is_cumulative(s));
		if (r)
			return r;
	}
	return 0;
}

const char *kvm_stats_exit_reason(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	if (!strcmp(name, "exits"))
		return "total";
	if (!strcmp(name, "halt_exits"))
		return "hlt";
	if (!strcmp(name, "hypercalls"))
		return "hypercall";
	if (!strcmp(name, "insn_emulation"))
		return name;
	if (n > 6 && !strcmp(name + n - 6, "_exits") && n - 6 < len) {
		memcpy(buf, name, n - 6);
		buf[n - 6] = '\0';
		return buf; /* io, mmio, irq, irq_window, nmi_window, signal, request_irq, ... */
	}
	return NULL;
}
