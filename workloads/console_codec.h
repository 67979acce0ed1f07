/*
 * Console record codec: struct hvb_record as one framed, checksummed text
 * line (abi.h HVB_CONSOLE_PREFIX), for VMMs that give the guest only a
 * console (QEMU serial, Xen PV console).  One implementation for both sides:
 * compiled with the workloads (freestanding), so the guest encodes with the
 * same code the host decodes with.
 *
 * Line: "@hvb1 SSSSSSSS <512 hex digits> CCCCCCCC\n" (or "@hvb2": the
 *       record with runs of zero bytes as "zNN", abi.h)
 *        seq (hex, 8)     the record   crc32c (hex, 8) of the seq as 4 bytes
 *                                      little-endian followed by the 256
 *                                      record bytes (so a damaged seq is
 *                                      caught, not taken for a lost record)
 * All hex is lowercase.  The guest numbers its records 0, 1, 2, ... from
 * boot, so the host can count lost (gap) and repeated (duplicate) records.
 */
#ifndef HVB_CONSOLE_CODEC_H
#define HVB_CONSOLE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvb/abi.h"

/* A line starting with this but not decoding is a damaged record, not text. */
#define HVB_CONSOLE_MARK "@hvb"

/* Length of an encoded line including the '\n' (no NUL). */
#define HVB_CONSOLE_LINE_LEN (6 + 8 + 1 + 2 * HVB_RECORD_SIZE + 1 + 8 + 1)

/* CRC-32C (Castagnoli) of n bytes. */
uint32_t hvb_crc32c(const void *p, size_t n);

/* Encode rec with sequence number seq into line (at least
 * HVB_CONSOLE_LINE_LEN bytes).  Returns HVB_CONSOLE_LINE_LEN. */
size_t hvb_console_encode(const struct hvb_record *rec, uint32_t seq, char *line);

/* The same as "@hvb2" (runs of zero bytes as "zNN"): never longer than
 * HVB_CONSOLE_LINE_LEN, typically a third of it, for transports that pay
 * per byte (a 16550's data register is one exit per byte).  Returns the
 * line's length. */
size_t hvb_console_encode_z(const struct hvb_record *rec, uint32_t seq, char *line);

enum hvb_console_result {
	HVB_CONSOLE_RECORD = 0,  /* a valid record: *rec and *seq filled */
	HVB_CONSOLE_TEXT = 1,    /* not a record line (ordinary console text) */
	HVB_CONSOLE_CORRUPT = 2, /* starts like a record but fails length/hex/crc */
};

/* Decode one console line, either form (without or with its trailing
 * '\n' / "\r\n").
 * *rec and *seq are meaningful only for HVB_CONSOLE_RECORD (on CORRUPT *rec
 * may be partly overwritten).  Lines not starting with HVB_CONSOLE_MARK are
 * TEXT; the record's own fields (magic, version, ...) are not checked here
 * (src/records.c does that). */
enum hvb_console_result hvb_console_decode(const char *line, size_t len, struct hvb_record *rec,
					   uint32_t *seq);

#endif
