/*
 * The migration stream between two reference-core VMMs (migrate.h): what
 * the source writes to a socket and the destination reads, parsed
 * defensively, since the destination must survive a truncated, corrupt or
 * hostile stream (an error naming what is wrong, never a crash).
 *
 * Layout, all little-endian:
 *   header   "HVBMIG\r\n", u32 version (HV_MIG_VERSION), u32 n_vcpus,
 *            u32 n_mem, u32 flags (0), u64 ram_size, u64 sum of those 32 bytes
 *   section* u32 type, u32 arg, u64 len, len bytes of payload,
 *            u64 sum of the 16 head bytes and the payload
 *   ...      ending with an HV_SEC_END section
 * The sum is FNV-1a over 64-bit words (bytes past the last whole word one
 * by one): it detects damage, it is no authentication.  A section's len is
 * bounded by its type (HV_MIG_MAX_PAYLOAD at most): the reader never
 * allocates what the stream asks for.
 */
#ifndef HV_MIGRATE_STREAM_H
#define HV_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HV_MIG_MAGIC	   "HVBMIG\r\n"
#define HV_MIG_VERSION	   1u
#define HV_MIG_HEADER_SIZE 40u	/* with its sum */
#define HV_MIG_HEAD_SIZE   16u	/* a section's head */
#define HV_MIG_RUN_PAGES   64u	/* pages in one HV_SEC_PAGES section at most */
/* Bounds a stream may not exceed (the reader checks before it reads). */
#define HV_MAX_VCPUS_STREAM 8u /* HV_MAX_VCPUS */
#define HV_MAX_MEM_STREAM   4u /* HV_MAX_MEM_REGIONS */
#define HV_MIG_MAX_PAYLOAD  (8u + HV_MIG_RUN_PAGES * 4096u) /* >= HV_STATE_XSAVE_MAX */

enum hv_mig_sec {
	HV_SEC_LAYOUT = 1, /* n_mem x {u64 gpa, u64 size}: must match the destination's */
	HV_SEC_PAGES,	   /* u64 gpa, then whole pages from there */
	HV_SEC_ZERO,	   /* u64 gpa, u64 pages: all zero */
	HV_SEC_ROUND,	   /* arg = round that ends; u64 pages still dirty */
	HV_SEC_VCPU,	   /* arg = vcpu << 8 | part (vcpu_state.h); the part's bytes */
	HV_SEC_END,	   /* empty: the guest may run on the destination */
	HV_SEC_TYPES
};

struct hv_mig_header {
	uint32_t version, n_vcpus, n_mem, flags;
	uint64_t ram_size;
};

struct hv_mig_section {
	uint32_t type, arg;
	uint64_t len;
	uint8_t *payload; /* the reader's buffer (HV_MIG_MAX_PAYLOAD bytes) */
};

/* The stream's checksum (see above); start with HV_MIG_SUM_SEED. */
#define HV_MIG_SUM_SEED 0xcbf29ce484222325ull
uint64_t hv_mig_sum(uint64_t h, const void *p, size_t n);

/* "pages", "vcpu", ... */
const char *hv_mig_sec_name(uint32_t type);

/* Encode: the header / a section head into buf, returning its length. */
size_t hv_mig_header_encode(uint8_t buf[HV_MIG_HEADER_SIZE], const struct hv_mig_header *h);
void hv_mig_head_encode(uint8_t buf[HV_MIG_HEAD_SIZE], uint32_t type, uint32_t arg,
			uint64_t len);

/*
 * Decode the header.  0, or -EPROTO with `why` saying what is wrong (not
 * a migration stream, another version, damaged header, a shape no core
 * could have).
 */
int hv_mig_header_decode(const uint8_t buf[HV_MIG_HEADER_SIZE], struct hv_mig_header *h,
			 char *why, size_t len);

/*
 * Check a section head (type known, len within that type's bound).  0 or
 * -EPROTO with `why`.
 */
int hv_mig_head_decode(const uint8_t buf[HV_MIG_HEAD_SIZE], struct hv_mig_section *s,
		       char *why, size_t len);

/*
 * A reader over a file descriptor (socket, pipe, file): reads exactly what
 * it needs, counts bytes, and says where a stream ended early.
 */
struct hv_mig_reader {
	int fd;
	uint64_t bytes;	    /* read so far */
	uint64_t sections;  /* sections read whole */
	uint8_t *buf;	    /* HV_MIG_MAX_PAYLOAD */
};

int hv_mig_reader_init(struct hv_mig_reader *r, int fd);
void hv_mig_reader_free(struct hv_mig_reader *r);

/* Read and check the header.  0, -EPROTO (bad stream), -EPIPE (the stream
 * ended: the sender went away) or a read error; `why` says which. */
int hv_mig_read_header(struct hv_mig_reader *r, struct hv_mig_header *h, char *why, size_t len);

/* Read and check the next section (payload in r->buf).  As above. */
int hv_mig_read_section(struct hv_mig_reader *r, struct hv_mig_section *s, char *why, size_t len);

#endif
