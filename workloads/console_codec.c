/*
 * Console record codec (contract: console_codec.h).
 *
 * Compiled with the workloads (WORKLOAD_CFLAGS) and linked into both the
 * guest image and hvbench, so it must stay freestanding: no libc calls, and
 * no loops the compiler could turn into memcpy/memset (the build also passes
 * -fno-tree-loop-distribute-patterns).
 */
#include "console_codec.h"

static const char hex_digits[16] = "0123456789abcdef";

/*
 * CRC-32C, reflected polynomial 0x82f63b78, processed a nibble at a time:
 * a 64-byte constant table instead of 1 KiB, and no run-time table set-up,
 * which the guest would otherwise have to do before its first record.
 */
static const uint32_t crc32c_nibble[16] = {
    0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
    0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

static uint32_t crc32c_update(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
	}
	return crc;
}

uint32_t hvb_crc32c(const void *p, size_t n)
{
	return ~crc32c_update(~0u, p, n);
}

/* The checksum covers the sequence number (4 bytes, little-endian) and then
 * the record, so a damaged seq cannot pass as a lost or duplicated record. */
static uint32_t line_crc(uint32_t seq, const void *rec)
{
	unsigned char s[4] = {(unsigned char)seq, (unsigned char)(seq >> 8),
			      (unsigned char)(seq >> 16), (unsigned char)(seq >> 24)};

	return ~crc32c_update(crc32c_update(~0u, s, sizeof(s)), rec, HVB_RECORD_SIZE);
}

static char *put_hex32(char *out, uint32_t v)
{
	for (int shift = 28; shift >= 0; shift -= 4)
		*out++ = hex_digits[(v >> shift) & 15];
	return out;
}

size_t hvb_console_encode(const struct hvb_record *rec, uint32_t seq, char *line)
{
	const unsigned char *b = (const unsigned char *)rec;
	const char *prefix = HVB_CONSOLE_PREFIX;
	char *out = line;

	while (*prefix)
		*out++ = *prefix++;
	out = put_hex32(out, seq);
	*out++ = ' ';
	for (size_t i = 0; i < HVB_RECORD_SIZE; i++) {
		*out++ = hex_digits[b[i] >> 4];
		*out++ = hex_digits[b[i] & 15];
	}
	*out++ = ' ';
	out = put_hex32(out, line_crc(seq, rec));
	*out++ = '\n';
	return (size_t)(out - line);
}

static char *put_prefix(char *out, const char *prefix, uint32_t seq)
{
	while (*prefix)
		*out++ = *prefix++;
	out = put_hex32(out, seq);
	*out++ = ' ';
	return out;
}

static char *put_crc(char *out, uint32_t seq, const struct hvb_record *rec)
{
	*out++ = ' ';
	out = put_hex32(out, line_crc(seq, rec));
	*out++ = '\n';
	return out;
}

size_t hvb_console_encode_z(const struct hvb_record *rec, uint32_t seq, char *line)
{
	const unsigned char *b = (const unsigned char *)rec;
	char *out = put_prefix(line, HVB_CONSOLE_PREFIX_Z, seq);
	size_t i = 0;

	while (i < HVB_RECORD_SIZE) {
		size_t run = 0;

		while (i + run < HVB_RECORD_SIZE && !b[i + run] && run < 255)
			run++;
		if (run >= 2) { /* "zNN" (3 bytes) for NN zero bytes (2 NN) */
			*out++ = 'z';
			*out++ = hex_digits[run >> 4];
			*out++ = hex_digits[run & 15];
			i += run;
			continue;
		}
		*out++ = hex_digits[b[i] >> 4];
		*out++ = hex_digits[b[i] & 15];
		i++;
	}
	out = put_crc(out, seq, rec);
	return (size_t)(out - line);
}

/* One lowercase hex digit, or -1 (upper case is not what the encoder writes,
 * so it is damage, not a variant). */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool get_hex32(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		int d = hex_value(s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++)
		if (i >= len || s[i] != prefix[i])
			return false;
	return true;
}

/* "@hvb2": the record's tokens must make exactly HVB_RECORD_SIZE bytes and
 * end at the space before the checksum, which ends the line. */
static enum hvb_console_result decode_z(const char *line, size_t len, struct hvb_record *rec,
					uint32_t *seq)
{
	unsigned char *b = (unsigned char *)rec;
	const char *p = line + sizeof(HVB_CONSOLE_PREFIX_Z) - 1, *end = line + len;
	size_t i = 0;
	uint32_t s, crc;

	if (end - p < 8 + 1 + 1 + 8 || !get_hex32(p, &s) || p[8] != ' ')
		return HVB_CONSOLE_CORRUPT;
	p += 9;
	while (i < HVB_RECORD_SIZE) {
		int hi, lo;

		if (end - p < 2)
			return HVB_CONSOLE_CORRUPT;
		if (*p == 'z') {
			if (end - p < 3 || (hi = hex_value(p[1])) < 0 || (lo = hex_value(p[2])) < 0)
				return HVB_CONSOLE_CORRUPT;
			size_t run = (size_t)(hi << 4 | lo);
			if (run < 2 || run > HVB_RECORD_SIZE - i)
				return HVB_CONSOLE_CORRUPT;
			while (run--)
				b[i++] = 0;
			p += 3;
			continue;
		}
		if ((hi = hex_value(p[0])) < 0 || (lo = hex_value(p[1])) < 0)
			return HVB_CONSOLE_CORRUPT;
		b[i++] = (unsigned char)(hi << 4 | lo);
		p += 2;
	}
	if (end - p != 1 + 8 || *p != ' ' || !get_hex32(p + 1, &crc) || crc != line_crc(s, rec))
		return HVB_CONSOLE_CORRUPT;
	*seq = s;
	return HVB_CONSOLE_RECORD;
}

enum hvb_console_result hvb_console_decode(const char *line, size_t len, struct hvb_record *rec,
					   uint32_t *seq)
{
	unsigned char *b = (unsigned char *)rec;
	const size_t plen = sizeof(HVB_CONSOLE_PREFIX) - 1;
	const char *p;
	uint32_t s, crc;

	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	/* "@hvb" without the rest of the prefix is a damaged record line, not text. */
	if (!starts_with(line, len, HVB_CONSOLE_MARK))
		return HVB_CONSOLE_TEXT;
	if (starts_with(line, len, HVB_CONSOLE_PREFIX_Z))
		return decode_z(line, len, rec, seq);
	if (len != HVB_CONSOLE_LINE_LEN - 1 || !starts_with(line, len, HVB_CONSOLE_PREFIX))
		return HVB_CONSOLE_CORRUPT;
	p = line + plen;
	if (!get_hex32(p, &s) || p[8] != ' ')
		return HVB_CONSOLE_CORRUPT;
	p += 9;
	for (size_t i = 0; i < HVB_RECORD_SIZE; i++) {
		int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return HVB_CONSOLE_CORRUPT;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	p += 2 * HVB_RECORD_SIZE;
	if (*p != ' ' || !get_hex32(p + 1, &crc) || crc != line_crc(s, rec))
		return HVB_CONSOLE_CORRUPT;
	*seq = s;
	return HVB_CONSOLE_RECORD;
}
