/*
 * pvh-hello: the smallest useful Xen PVH guest, used to test the Xen
 * runner (runners/xen) before the hvbench guest image exists.
 *
 * It finds Xen by CPUID, installs the hypercall page, writes lines to the
 * PV console ring (HVM params CONSOLE_PFN/CONSOLE_EVTCHN, EVTCHNOP_send),
 * marks progress on port 0xe9 (Xen's HVM debug port -> xl dmesg), and
 * powers off with SCHEDOP_shutdown.  Command line words (extra=):
 *   lines=N   print N numbered lines (console ring wrap / flow control)
 *   crash=1   shut down with SHUTDOWN_crash instead of poweroff
 *   hang=1    never shut down (runner timeout path)
 *   dev=xencons   (set by hvbench's xen-pvh runner) act as a records fixture:
 *             send hvbench records on the PV console (workloads/console_codec.h):
 *             HELLO, a LOG, one SKIPPED status per workload named in w=,
 *             then DONE.  It runs no workload and reports no numbers: it
 *             tests the runner's record path before the real guest exists.
 */
#include <stdint.h>

#include "console_codec.h"

#define HYPERVISOR_sched_op        29
#define HYPERVISOR_event_channel_op 32
#define HYPERVISOR_hvm_op          34
#define SCHEDOP_yield              0
#define SCHEDOP_shutdown           2
#define SHUTDOWN_poweroff          0
#define SHUTDOWN_crash             3
#define EVTCHNOP_send              4
#define HVMOP_get_param            1
#define HVM_PARAM_CONSOLE_PFN      17
#define HVM_PARAM_CONSOLE_EVTCHN   18
#define DOMID_SELF                 0x7ff0

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
};

struct xen_hvm_param {
	uint16_t domid;
	uint32_t index;
	uint64_t value;
};

struct xencons_interface {
	char in[1024];
	char out[2048];
	volatile uint32_t in_cons, in_prod;
	volatile uint32_t out_cons, out_prod;
};

void hello_main(struct hvm_start_info *si);

/* The hvbench ABI note, so the runner's image check accepts this guest. */
static const struct {
	uint32_t namesz, descsz, type;
	char name[8];
	uint32_t desc;
} abi_note __attribute__((section(".note.hvbench"), aligned(4), used)) = {
	8, 4, HVB_NOTE_ABI, HVB_NOTE_NAME, HVB_ABI_VERSION,
};

static uint8_t hypercall_page[4096] __attribute__((aligned(4096)));
static struct xencons_interface *cons;
static uint32_t cons_port;

static void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static long hcall2(unsigned nr, uint32_t a1, uint32_t a2)
{
	long ret;
	uint32_t b = a1, c = a2;

	__asm__ volatile("call *%[f]"
			 : "=a"(ret), "+b"(b), "+c"(c)
			 : [f] "r"(hypercall_page + nr * 32)
			 : "memory", "edx", "esi", "edi");
	return ret;
}

static void debug_puts(const char *s)
{
	while (*s)
		outb(0xe9, (uint8_t)*s++);
}

static void cons_write(const char *s, uint32_t n)
{
	uint32_t port = cons_port;

	while (n) {
		uint32_t prod = cons->out_prod;

		if (prod - cons->out_cons >= sizeof(cons->out)) {
			hcall2(HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint32_t)&port);
			hcall2(HYPERVISOR_sched_op, SCHEDOP_yield, 0);
			continue;
		}
		cons->out[prod & (sizeof(cons->out) - 1)] = *s++;
		__asm__ volatile("" ::: "memory");
		cons->out_prod = prod + 1;
		n--;
	}
	hcall2(HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint32_t)&port);
}

static uint32_t slen(const char *s)
{
	uint32_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* Console output: the PV console when there is one, else port 0xe9. */
static void puts_both(const char *s)
{
	if (cons)
		cons_write(s, slen(s));
	else
		debug_puts(s);
}

static char *utoa(uint32_t v, char *end)
{
	*--end = 0;
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* Value of the word KEY=N in the command line; 0 when absent. */
static uint32_t cmdline_num(const char *cl, const char *key)
{
	uint32_t kl = slen(key), v = 0, i;
	const char *w;

	for (w = cl; w && *w; w++) {
		if (w != cl && w[-1] != ' ')
			continue;
		for (i = 0; i < kl && w[i] == key[i]; i++)
			;
		if (i == kl && w[i] == '=') {
			for (w += i + 1; *w >= '0' && *w <= '9'; w++)
				v = v * 10 + (uint32_t)(*w - '0');
			return v;
		}
	}
	return 0;
}

/* Copy a word of the command line (up to a space) into dst, NUL-terminated. */
static void word_copy(char *dst, uint32_t len, const char *src)
{
	uint32_t i;

	for (i = 0; i + 1 < len && src[i] && src[i] != ' ' && src[i] != ','; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

/* Start of the value of KEY= in the command line, or NULL. */
static const char *cmdline_str(const char *cl, const char *key)
{
	uint32_t kl = slen(key), i;
	const char *w;

	for (w = cl; w && *w; w++) {
		if (w != cl && w[-1] != ' ')
			continue;
		for (i = 0; i < kl && w[i] == key[i]; i++)
			;
		if (i == kl && w[i] == '=')
			return w + i + 1;
	}
	return 0;
}

static void rec_clear(struct hvb_record *r, uint16_t type)
{
	uint8_t *p = (uint8_t *)r;
	uint32_t i;

	for (i = 0; i < sizeof(*r); i++)
		p[i] = 0;
	r->magic = HVB_RECORD_MAGIC;
	r->version = HVB_ABI_VERSION;
	r->size = sizeof(*r);
	r->type = type;
}

static void rec_send(const struct hvb_record *r)
{
	static uint32_t seq;
	static char line[HVB_CONSOLE_LINE_LEN];
	uint32_t n = (uint32_t)hvb_console_encode(r, seq++, line);

	cons_write(line, n);
}

static void str_set(char *dst, uint32_t len, const char *src)
{
	uint32_t i;

	for (i = 0; i + 1 < len && src[i]; i++)
		dst[i] = src[i];
}

/* The records fixture: see the header comment. */
static void records_fixture(const char *cl)
{
	struct hvb_record r;
	const char *w = cmdline_str(cl, "w");

	rec_clear(&r, HVB_REC_HELLO);
	rec_send(&r);
	rec_clear(&r, HVB_REC_LOG);
	str_set(r.text, sizeof(r.text), "pvh-hello records fixture under Xen PVH");
	rec_send(&r);
	while (w && *w && *w != ' ') {
		rec_clear(&r, HVB_REC_STATUS);
		word_copy(r.workload, sizeof(r.workload), w);
		r.status = HVB_ST_SKIPPED;
		str_set(r.text, sizeof(r.text),
			"pvh-hello test fixture: no workload code in this guest");
		rec_send(&r);
		while (*w && *w != ' ' && *w != ',')
			w++;
		if (*w == ',')
			w++;
	}
	rec_clear(&r, HVB_REC_DONE);
	rec_send(&r);
}

static uint32_t xen_base(void)
{
	uint32_t base, a, b, c, d;

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		cpuid(base, &a, &b, &c, &d);
		if (b == 0x566e6558 && c == 0x65584d4d && d == 0x4d4d566e)
			return base;
	}
	return 0;
}

static int hvm_param(uint32_t index, uint64_t *v)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
	long rc = hcall2(HYPERVISOR_hvm_op, HVMOP_get_param, (uint32_t)&p);

	*v = p.value;
	return (int)rc;
}

static void shutdown(uint32_t reason)
{
	uint32_t r = reason;

	hcall2(HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint32_t)&r);
}

void hello_main(struct hvm_start_info *si)
{
	const char *cl = 0;
	uint32_t base, a, b, c, d, i, lines;
	uint64_t pfn = 0, port = 0;
	char num[16];

	debug_puts("pvh-hello: entered\n");
	if (si->magic == 0x336ec578 && si->cmdline_paddr)
		cl = (const char *)(uint32_t)si->cmdline_paddr;
	base = xen_base();
	if (!base) {
		debug_puts("pvh-hello: no Xen CPUID leaves\n");
		return;
	}
	cpuid(base + 2, &a, &b, &c, &d);
	__asm__ volatile("wrmsr" : : "c"(b), "a"((uint32_t)hypercall_page), "d"(0));
	if (hvm_param(HVM_PARAM_CONSOLE_PFN, &pfn) || hvm_param(HVM_PARAM_CONSOLE_EVTCHN, &port) ||
	    !pfn || pfn >= (1ull << 20)) {
		debug_puts("pvh-hello: no PV console\n");
	} else {
		cons = (struct xencons_interface *)(uint32_t)(pfn << 12);
		cons_port = (uint32_t)port;
	}
	puts_both("pvh-hello: hello from a Xen PVH guest\n");
	puts_both("pvh-hello: cmdline=");
	puts_both(cl ? cl : "(none)");
	puts_both("\n");
	if (cons && cmdline_str(cl, "dev") && cmdline_str(cl, "dev")[0] == 'x')
		records_fixture(cl);
	lines = cmdline_num(cl, "lines");
	for (i = 0; i < lines; i++) {
		puts_both("pvh-hello: line ");
		puts_both(utoa(i, num + sizeof(num)));
		puts_both(" 0123456789abcdefghijklmnopqrstuvwxyz\n");
	}
	if (cmdline_num(cl, "hang")) {
		puts_both("pvh-hello: hanging\n");
		for (;;)
			hcall2(HYPERVISOR_sched_op, SCHEDOP_yield, 0);
	}
	if (cmdline_num(cl, "crash")) {
		puts_both("pvh-hello: crashing on request\n");
		debug_puts("pvh-hello: crash\n");
		shutdown(SHUTDOWN_crash);
	}
	puts_both("pvh-hello: bye\n");
	debug_puts("pvh-hello: poweroff\n");
	shutdown(SHUTDOWN_poweroff);
	debug_puts("pvh-hello: still running after SCHEDOP_shutdown\n");
}
