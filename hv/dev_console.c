/*
 * The serial console (COM1 16550 subset) and debug port 0xe9 (see dev.h).
 * Text is collected a line at a time and handed to the log callback until
 * the per-run budget is spent; after that bytes are only counted, so a
 * guest that floods the console costs exits, not disk.
 */
#include "dev.h"

#include <stdio.h>
#include <string.h>

#define COM1_THR 0 /* transmit holding register (DLAB=0) */
#define COM1_LSR 5 /* line status */
#define COM1_MSR 6 /* modem status */
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static void console_emit(struct hv_console *con)
{
	con->buf[con->len] = '\0';
	if (con->line)
		con->line(con->arg, con->buf);
	con->len = 0;
}

static void console_putc(struct hv_console *con, uint8_t ch)
{
	if (!con->budget) {
		con->dropped++;
		return;
	}
	con->budget--;
	con->logged++;
	if (ch == '\n') {
		console_emit(con);
		return;
	}
	if (ch == '\r')
		return;
	con->buf[con->len++] = (ch >= 0x20 && ch < 0x7f) || ch == '\t' ? (char)ch : '?';
	if (con->len == HV_CONSOLE_LINE_MAX || !con->budget)
		console_emit(con);
}

static int com1_io(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data, unsigned size,
		   bool out)
{
	struct hv_console *con = opaque;
	unsigned reg = port - HVB_PORT_COM1;

	(void)vcpu, (void)size;
	if (out) {
		if (reg == COM1_THR)
			console_putc(con, data[0]);
		return HV_CONTINUE; /* other registers: configuration, ignored */
	}
	if (reg == COM1_LSR)
		data[0] = LSR_THRE | LSR_TEMT; /* always ready to send */
	else if (reg == COM1_MSR)
		data[0] = 0xb0; /* DCD | DSR | CTS */
	return HV_CONTINUE;
}

static int debugcon_io(void *opaque, struct vcpu *vcpu, uint16_t port, uint8_t *data, unsigned size,
		       bool out)
{
	(void)vcpu, (void)port, (void)size;
	if (out)
		console_putc(opaque, data[0]);
	else
		data[0] = 0xe9; /* what QEMU's isa-debugcon answers: "present" */
	return HV_CONTINUE;
}

int dev_console_attach(struct vm *vm, struct hv_console *con, uint64_t budget,
		       void (*line)(void *arg, const char *text), void *arg)
{
	int r;

	memset(con, 0, sizeof(*con));
	con->line = line;
	con->arg = arg;
	con->budget = budget ? budget : HV_CONSOLE_BUDGET_DEF;
	r = vm_pio_register(vm, HVB_PORT_COM1, HVB_PORT_COM1 + 7, com1_io, con, "com1");
	if (!r)
		r = vm_pio_register(vm, HVB_PORT_DEBUGCON, HVB_PORT_DEBUGCON, debugcon_io, con,
				    "debugcon");
	return r;
}

void dev_console_flush(struct hv_console *con)
{
	if (con->len)
		console_emit(con);
}
