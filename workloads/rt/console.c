/*
 * Record transports of the guest (the dev= command-line word), all driven
 * from ring 3 through the TSS I/O bitmap:
 *
 *   hvb     the reference core's device: the record stays in guest memory
 *           and its guest-physical address goes out with one 32-bit OUT to
 *           HVB_PORT_RECORD (one exit per record, nothing to parse).  Stop:
 *           OUT of the exit code to HVB_PORT_SHUTDOWN.
 *   serial  COM1 (polled 16550): each record as one framed, checksummed
 *           console line (workloads/console_codec.h), compact ("@hvb2":
 *           one exit per byte, so zero runs are "zNN").  Stop: QEMU's
 *           isa-debug-exit at 0xf4 (QEMU exits with status (code << 1) | 1).
 *   xencons the Xen PV console ring (xen.c): the same lines as serial.
 *           Stop: SCHEDOP_shutdown (poweroff, or crash for a failure).
 *
 * After the stop write the guest halts for good in ring 0 (cli; hlt), so a
 * VMM that ignored the write sees a halted guest, not a runaway one.
 */
#include "console_codec.h"
#include "harness.h"
#include "rt.h"
#include "xen.h"

struct rt_console {
	const char *name;
	void (*init)(void);
	void (*emit)(const struct hvb_record *rec);
	void (*text)(const char *s);
	void (*stop)(int code);
};

static const struct rt_console *console;

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* ------------------------------------------------------------ dev=hvb */

static void hvb_emit(const struct hvb_record *rec)
{
	static struct hvb_record low;
	uintptr_t gpa = (uintptr_t)rec;

	/* The port takes a 32-bit address; the image (stacks, statics) is
	 * below 4 GiB, a record elsewhere is copied there first. */
	if (gpa + sizeof(*rec) > (1ull << 32)) {
		low = *rec;
		gpa = (uintptr_t)&low;
	}
	outl(HVB_PORT_RECORD, (uint32_t)gpa);
}

static void hvb_text(const char *s)
{
	(void)s; /* no text channel: records only (rt_log) */
}

static void hvb_stop(int code)
{
	rt_outb(HVB_PORT_SHUTDOWN, (uint8_t)code);
}

/* ------------------------------------------------------------ dev=serial */

#define COM1 HVB_PORT_COM1
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_FIFO 16

static void serial_init(void)
{
	rt_outb(COM1 + UART_IER, 0x00); /* polled: no interrupts */
	rt_outb(COM1 + UART_LCR, 0x80); /* DLAB: divisor 1 = 115200 baud */
	rt_outb(COM1 + 0, 0x01);
	rt_outb(COM1 + 1, 0x00);
	rt_outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	rt_outb(COM1 + UART_FCR, 0xc7); /* FIFOs on and cleared */
	rt_outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

/* Each port access is an exit: wait for an empty FIFO, then fill all of it. */
static void serial_write(const char *s, size_t n)
{
	while (n) {
		size_t chunk = n < UART_FIFO ? n : UART_FIFO;

		while (!(rt_inb(COM1 + UART_LSR) & UART_LSR_THRE))
			__asm__ volatile("pause");
		for (size_t i = 0; i < chunk; i++)
			rt_outb(COM1 + UART_THR, (uint8_t)s[i]);
		s += chunk;
		n -= chunk;
	}
}

static void serial_text(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	serial_write(s, n);
}

static void serial_emit(const struct hvb_record *rec)
{
	static char line[HVB_CONSOLE_LINE_LEN];
	static uint32_t seq;

	/* Compact: every byte is a port exit (about a third of "@hvb1"). */
	serial_write(line, hvb_console_encode_z(rec, seq++, line));
}

static void serial_stop(int code)
{
	rt_outb(HVB_PORT_QEMU_EXIT, (uint8_t)code);
}

/* ------------------------------------------------------------ selection */

static const struct rt_console consoles[] = {
	{ "hvb", 0, hvb_emit, hvb_text, hvb_stop },
	{ "serial", serial_init, serial_emit, serial_text, serial_stop },
	{ "xencons", rt_xencons_init, rt_xencons_emit, rt_xencons_text, rt_xencons_stop },
};

bool rt_console_select(const char *name)
{
	for (unsigned i = 0; i < sizeof(consoles) / sizeof(consoles[0]); i++) {
		if (str_eq(consoles[i].name, name)) {
			console = &consoles[i];
			if (console->init)
				console->init();
			return true;
		}
	}
	return false;
}

/* One record or text at a time, from whichever CPU (APs may report). */
static rt_lock_t console_lock;

/* Before a transport is chosen, records have nowhere to go. */
void rt_emit(const struct hvb_record *rec)
{
	if (!console)
		return;
	rt_lock(&console_lock);
	console->emit(rec);
	rt_unlock(&console_lock);
}

void rt_console_text(const char *s)
{
	if (!console)
		return;
	rt_lock(&console_lock);
	console->text(s);
	rt_unlock(&console_lock);
}

void rt_shutdown(int code)
{
	if (console) {
		console->stop(code);
	} else {
		/* No transport yet (a fault before dev= was read): every exit port. */
		rt_outb(HVB_PORT_SHUTDOWN, (uint8_t)code);
		rt_outb(HVB_PORT_QEMU_EXIT, (uint8_t)code);
	}
	for (;;)
		rt_sys(RT_SYS_STOP, 0, 0);
}
