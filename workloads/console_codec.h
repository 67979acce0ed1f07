/*
 * Console record codec: struct hvb_record as one framed, checksummed text
 * line (abi.h HVB_CONSOLE_PREFIX), for VMMs that give the guest only a
 * console (QEMU serial, Xen PV console).  One implementation for both sides:
 * compiled with the workloads (freestanding), so the guest encodes with the
 * same code the host decodes with.
 *
 * Line: "@hvb1 SSSSSSSS <512 hex digits> CCCCCCCC\n"
 *        seq (hex, 8)     the record   crc32c of the 256 record bytes (hex, 8)
 */
#ifndef HVB_CONSOLE_CODEC_H
#define HVB_CONSOLE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"

/* Length of an encoded line including the '\n' (no NUL). */
#define HVB_CONSOLE_LINE_LEN (6 + 8 + 1 + 2 * HVB_RECORD_SIZE + 1 + 8 + 1)

/* CRC-32C (Castagnoli) of n bytes. */
uint32_t hvb_crc32c(const void *p, size_t n);

/* Encode rec with sequence number seq into line (at least
 * HVB_CONSOLE_LINE_LEN bytes).  Returns HVB_CONSOLE_LINE_LEN. */
size_t hvb_console_encode(const struct hvb_record *rec, uint32_t seq, char *line);

enum hvb_console_result {
	HVB_CONSOLE_RECORD = 0,  /* a valid record: *rec and *seq filled */
	HVB_CONSOLE_TEXT = 1,    /* not a record line (ordinary console text) */
	HVB_CONSOLE_CORRUPT = 2, /* starts like a record but fails length/hex/crc */
};

/* Decode one console line (without or with its trailing '\n' / "\r\n"). */
enum hvb_console_result hvb_console_decode(const char *line, size_t len, struct hvb_record *rec,
					   uint32_t *seq);

#endif
