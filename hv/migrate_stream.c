/*
 * Migration stream encoding and its defensive reader (migrate_stream.h).
 */
#include "migrate_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vcpu_state.h"

#define FNV_PRIME 0x100000001b3ull

uint64_t hv_mig_sum(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * FNV_PRIME;
	}
	for (; n; n--, b++)
		h = (h ^ *b) * FNV_PRIME;
	return h;
}

static const char *const sec_names[HV_SEC_TYPES] = {
    [HV_SEC_LAYOUT] = "layout", [HV_SEC_PAGES] = "pages", [HV_SEC_ZERO] = "zero",
    [HV_SEC_ROUND] = "round",	[HV_SEC_VCPU] = "vcpu",	  [HV_SEC_END] = "end",
};

const char *hv_mig_sec_name(uint32_t type)
{
	return type && type < HV_SEC_TYPES ? sec_names[type] : "unknown";
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

size_t hv_mig_header_encode(uint8_t buf[HV_MIG_HEADER_SIZE], const struct hv_mig_header *h)
{
	memcpy(buf, HV_MIG_MAGIC, 8);
	put32(buf + 8, h->version);
	put32(buf + 12, h->n_vcpus);
	put32(buf + 16, h->n_mem);
	put32(buf + 20, h->flags);
	put64(buf + 24, h->ram_size);
	put64(buf + 32, hv_mig_sum(HV_MIG_SUM_SEED, buf, 32));
	return HV_MIG_HEADER_SIZE;
}

void hv_mig_head_encode(uint8_t buf[HV_MIG_HEAD_SIZE], uint32_t type, uint32_t arg, uint64_t len)
{
	put32(buf, type);
	put32(buf + 4, arg);
	put64(buf + 8, len);
}

int hv_mig_header_decode(const uint8_t buf[HV_MIG_HEADER_SIZE], struct hv_mig_header *h,
			 char *why, size_t len)
{
	if (memcmp(buf, HV_MIG_MAGIC, 8)) {
		snprintf(why, len, "not an hvbench migration stream (no HVBMIG magic)");
		return -EPROTO;
	}
	h->version = get32(buf + 8);
	if (h->version != HV_MIG_VERSION) {
		snprintf(why, len, "migration stream version %u, this core reads version %u: "
				   "migrate between hvbench builds of the same version",
			 h->version, HV_MIG_VERSION);
		return -EPROTO;
	}
	if (get64(buf + 32) != hv_mig_sum(HV_MIG_SUM_SEED, buf, 32)) {
		snprintf(why, len, "migration stream header damaged (checksum mismatch)");
		return -EPROTO;
	}
	h->n_vcpus = get32(buf + 12);
	h->n_mem = get32(buf + 16);
	h->flags = get32(buf + 20);
	h->ram_size = get64(buf + 24);
	if (!h->n_vcpus || h->n_vcpus > HV_MAX_VCPUS_STREAM || !h->n_mem ||
	    h->n_mem > HV_MAX_MEM_STREAM || h->flags || !h->ram_size || h->ram_size & 4095) {
		snprintf(why, len, "migration stream header: impossible VM shape (%u vCPUs, %u "
				   "memory regions, flags 0x%x, %llu bytes of RAM)",
			 h->n_vcpus, h->n_mem, h->flags, (unsigned long long)h->ram_size);
		return -EPROTO;
	}
	return 0;
}

/* The largest payload a section of this type may have. */
static uint64_t payload_max(uint32_t type)
{
	switch (type) {
	case HV_SEC_LAYOUT:
		return HV_MAX_MEM_STREAM * 16ull;
	case HV_SEC_PAGES:
		return 8 + HV_MIG_RUN_PAGES * 4096ull;
	case HV_SEC_ZERO:
		return 16;
	case HV_SEC_ROUND:
		return 8;
	case HV_SEC_VCPU:
		return HV_STATE_XSAVE_MAX;
	}
	return 0;
}

int hv_mig_head_decode(const uint8_t buf[HV_MIG_HEAD_SIZE], struct hv_mig_section *s,
		       char *why, size_t len)
{
	s->type = get32(buf);
	s->arg = get32(buf + 4);
	s->len = get64(buf + 8);
	if (!s->type || s->type >= HV_SEC_TYPES) {
		snprintf(why, len, "migration stream: unknown section type %u", s->type);
		return -EPROTO;
	}
	if (s->len > payload_max(s->type)) {
		snprintf(why, len, "migration stream: %s section of %llu bytes (at most %llu)",
			 hv_mig_sec_name(s->type), (unsigned long long)s->len,
			 (unsigned long long)payload_max(s->type));
		return -EPROTO;
	}
	return 0;
}

int hv_mig_reader_init(struct hv_mig_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->buf = malloc(HV_MIG_MAX_PAYLOAD);
	return r->buf ? 0 : -ENOMEM;
}

void hv_mig_reader_free(struct hv_mig_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Exactly n bytes, or -EPIPE at an early end (what = where we were). */
static int read_all(struct hv_mig_reader *r, void *p, size_t n, const char *what, char *why,
		    size_t len)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(r->fd, (uint8_t *)p + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k ? errno : 0;
			snprintf(why, len, "migration stream %s after %llu bytes, in the %s%s%s",
				 k ? "read failed" : "ended", (unsigned long long)(r->bytes + got),
				 what, k ? ": " : " (the sender went away)", k ? strerror(e) : "");
			return k ? -e : -EPIPE;
		}
		got += (size_t)k;
	}
	r->bytes += n;
	return 0;
}

int hv_mig_read_header(struct hv_mig_reader *r, struct hv_mig_header *h, char *why, size_t len)
{
	uint8_t buf[HV_MIG_HEADER_SIZE];
	int e = read_all(r, buf, sizeof(buf), "header", why, len);

	return e ? e : hv_mig_header_decode(buf, h, why, len);
}

int hv_mig_read_section(struct hv_mig_reader *r, struct hv_mig_section *s, char *why, size_t len)
{
	uint8_t head[HV_MIG_HEAD_SIZE], tail[8];
	char what[64];
	uint64_t sum;
	int e = read_all(r, head, sizeof(head), "head of a section", why, len);

	if (!e)
		e = hv_mig_head_decode(head, s, why, len);
	if (e)
		return e;
	snprintf(what, sizeof(what), "%s section #%llu", hv_mig_sec_name(s->type),
		 (unsigned long long)r->sections);
	s->payload = r->buf;
	e = read_all(r, r->buf, s->len, what, why, len);
	if (!e)
		e = read_all(r, tail, sizeof(tail), what, why, len);
	if (e)
		return e;
	sum = hv_mig_sum(hv_mig_sum(HV_MIG_SUM_SEED, head, sizeof(head)), r->buf, s->len);
	if (get64(tail) != sum) {
		snprintf(why, len, "migration stream damaged: checksum mismatch in the %s at byte %llu",
			 what, (unsigned long long)r->bytes);
		return -EPROTO;
	}
	r->sections++;
	return 0;
}
