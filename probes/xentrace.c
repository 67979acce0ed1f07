/*
 * Xen trace files → exits of one domain per repetition (see xentrace.h).
 *
 * Two passes: the first walks every pcpu's records in file order, keeps
 * track of which vCPU runs on each pcpu and turns the domain's VMEXITs and
 * the guest's repetition markers into events with a TSC; the second sorts
 * those events by TSC (pcpus' windows are interleaved in the file) and adds
 * the exits up per repetition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvb/abi.h"
#include "xentrace.h"

/* Event ids (xen/include/public/trace.h). */
#define TRC_LOST_RECORDS            0x0001f001u
#define TRC_TRACE_WRAP_BUFFER       0x0001f002u
#define TRC_TRACE_CPU_CHANGE        0x0001f003u
#define TRC_SCHED_RUNSTATE_CHANGE   0x00021001u /* | old state << 8 | new state << 4 */
#define TRC_SCHED_CONTINUE_RUNNING  0x00021002u
#define TRC_HVM_VMENTRY             0x00081001u
#define TRC_HVM_VMEXIT              0x00081002u
#define TRC_HVM_VMEXIT64            0x00081102u
#define TRC_HVM_CPUID               0x0008200eu
#define TRC_HVM_NESTEDFLAG          0x400u
#define TRC_PV_ENTRY                0x00201000u
#define TRC_PV_HYPERCALL_V2         0x0000000du /* within TRC_PV_ENTRY */
#define TRC_64_FLAG                 0x100u
#define HC_VCPU_OP                  24
#define RUNSTATE_MASK               0x330u
#define RUNSTATE_RUNNING            0

/* What xentrace writes before each window: header, pcpu, byte count. */
#define CPU_CHANGE_HEADER (TRC_TRACE_CPU_CHANGE | (2u << 28))
#define CPU_CHANGE_SIZE   12u

#define MAX_PCPUS 4096u
#define MAX_VCPUS 128u

enum ev_kind { EV_EXIT, EV_MARK_EXIT, EV_BEGIN, EV_END };

/* One event of the traced domain. */
struct ev {
	uint64_t tsc;
	uint64_t cycles; /* EV_EXIT: time until VMENTRY */
	uint32_t seq;    /* file order: keeps a pcpu's order among equal TSCs */
	uint32_t arg;    /* EV_EXIT: exit code; EV_BEGIN/END: repetition */
	uint16_t vcpu;
	uint8_t kind;
};

struct lost_span {
	uint64_t from, to, n;
};

struct pcpu {
	int32_t dom;     /* running domain, -1 = unknown or not ours to care */
	uint16_t vcpu;
	uint64_t tsc;
	long pending;    /* event index of an exit awaiting its VMENTRY, -1 none */
	long last_exit;  /* event index of the last exit on this pcpu, -1 none */
};

struct parse {
	struct xt_trace *t;
	uint16_t domid;
	struct pcpu *cpus;
	unsigned n_cpus;
	struct ev *evs;
	size_t n_evs, cap_evs;
	struct lost_span *lost;
	size_t n_lost, cap_lost;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct pcpu *pcpu_get(struct parse *ps, unsigned cpu)
{
	if (cpu >= ps->n_cpus) {
		struct pcpu *c = realloc(ps->cpus, (cpu + 1) * sizeof(*c));

		if (!c)
			return NULL;
		for (unsigned i = ps->n_cpus; i <= cpu; i++)
			c[i] = (struct pcpu){.dom = -1, .pending = -1, .last_exit = -1};
		ps->cpus = c;
		ps->n_cpus = cpu + 1;
	}
	return &ps->cpus[cpu];
}

static long ev_push(struct parse *ps, const struct pcpu *c, enum ev_kind kind, uint32_t arg)
{
	struct ev *e;

	if (grow((void **)&ps->evs, &ps->cap_evs, ps->n_evs + 1, sizeof(*e)))
		return -ENOMEM;
	e = &ps->evs[ps->n_evs];
	*e = (struct ev){.tsc = c->tsc, .seq = (uint32_t)ps->n_evs, .arg = arg, .vcpu = c->vcpu,
			 .kind = (uint8_t)kind};
	return (long)ps->n_evs++;
}

/* The vCPU's time in Xen for its pending exit ends here (VMENTRY, or Xen
 * switches it out: time descheduled is not handling time). */
static void pending_close(struct parse *ps, struct pcpu *c)
{
	if (c->pending >= 0) {
		struct ev *e = &ps->evs[c->pending];

		e->cycles = c->tsc >= e->tsc ? c->tsc - e->tsc : 0;
		c->pending = -1;
	}
}

static void on_runstate(struct parse *ps, struct pcpu *c, uint32_t event, uint32_t who)
{
	uint16_t vcpu = (uint16_t)(who & 0xffff), dom = (uint16_t)(who >> 16);
	bool running = event == TRC_SCHED_CONTINUE_RUNNING ||
		       ((event >> 4) & 3) == RUNSTATE_RUNNING;

	if (running) {
		if (c->dom != dom || c->vcpu != vcpu) {
			pending_close(ps, c);
			c->last_exit = -1;
		}
		c->dom = dom;
		c->vcpu = vcpu;
		if (dom == ps->domid)
			ps->t->domain_seen = true;
	} else if (c->dom == dom && c->vcpu == vcpu) {
		pending_close(ps, c);
		c->dom = -1;
		c->last_exit = -1;
	}
}

static bool is_marker(uint32_t leaf)
{
	return leaf == HVB_CPUID_MARK_BEGIN || leaf == HVB_CPUID_MARK_END;
}

/* A TRC_HVM_CPUID record of our domain: a repetition marker? */
static int on_cpuid(struct parse *ps, struct pcpu *c, uint32_t leaf, uint32_t subleaf)
{
	if (!is_marker(leaf))
		return 0;
	/* The marker's own exit was the last one on this pcpu: not the workload's. */
	if (c->last_exit >= 0)
		ps->evs[c->last_exit].kind = EV_MARK_EXIT;
	c->last_exit = -1;
	return ev_push(ps, c, leaf == HVB_CPUID_MARK_BEGIN ? EV_BEGIN : EV_END, subleaf) < 0 ?
		       -ENOMEM : 0;
}

/*
 * A TRC_PV_ENTRY record of our (PV) domain.  Hypercall records: word 0 is
 * the op with two bits per argument above bit 20 (01 = a 32-bit argument
 * follows); vcpu_op(marker, rep) is a repetition marker, not counted.
 */
static int on_pv(struct parse *ps, struct pcpu *c, uint32_t sub, const uint32_t *d, unsigned n)
{
	uint32_t op, code;

	if (sub != TRC_PV_HYPERCALL_V2 || n < 1) {
		code = XT_PV_EVENT(sub);
	} else {
		op = d[0] & 0xfffffu;
		if (op == HC_VCPU_OP && n >= 3 && (d[0] >> 20 & 0xf) == 0x5 && is_marker(d[1]))
			return ev_push(ps, c, d[1] == HVB_CPUID_MARK_BEGIN ? EV_BEGIN : EV_END,
				       d[2]) < 0 ?
				       -ENOMEM : 0;
		code = XT_PV_HYPERCALL(op & 0xffff);
	}
	return ev_push(ps, c, EV_EXIT, code) < 0 ? -ENOMEM : 0;
}

static int on_lost(struct parse *ps, const struct pcpu *c, const uint32_t *d, unsigned n)
{
	struct lost_span *l;

	ps->t->lost_events++;
	if (n < 1)
		return 0;
	ps->t->lost += d[0];
	if (grow((void **)&ps->lost, &ps->cap_lost, ps->n_lost + 1, sizeof(*l)))
		return -ENOMEM;
	l = &ps->lost[ps->n_lost++];
	l->n = d[0];
	l->to = c->tsc;
	l->from = n >= 4 ? ((uint64_t)d[3] << 32 | d[2]) : c->tsc;
	if (l->from > l->to)
		l->from = l->to;
	return 0;
}

/* One record: update the pcpu's state, emit events of our domain. */
static int on_record(struct parse *ps, unsigned cpu, struct pcpu *c, uint32_t event,
		     const uint32_t *d, unsigned n)
{
	bool ours = c->dom >= 0 && c->dom == ps->domid;
	uint32_t ev = event & ~TRC_HVM_NESTEDFLAG;
	long i;

	ps->t->records++;
	if (event == TRC_LOST_RECORDS)
		return on_lost(ps, c, d, n);
	if (event == TRC_TRACE_WRAP_BUFFER)
		return 0;
	if (event == TRC_TRACE_CPU_CHANGE) {
		snprintf(ps->t->error, sizeof(ps->t->error),
			 "a cpu-change record inside the window of pcpu %u", cpu);
		return -EPROTO;
	}
	if ((event & ~RUNSTATE_MASK) == TRC_SCHED_RUNSTATE_CHANGE ||
	    event == TRC_SCHED_CONTINUE_RUNNING) {
		if (n >= 1)
			on_runstate(ps, c, event, d[0]);
		return 0;
	}
	if (ev == TRC_HVM_VMEXIT || ev == TRC_HVM_VMEXIT64) {
		if (!ours || n < 1)
			return 0;
		pending_close(ps, c);
		i = ev_push(ps, c, EV_EXIT, d[0]);
		if (i < 0)
			return -ENOMEM;
		c->pending = c->last_exit = i;
		return 0;
	}
	if (ev == TRC_HVM_VMENTRY) {
		pending_close(ps, c);
		return 0;
	}
	if (ev == TRC_HVM_CPUID)
		return ours && n >= 2 ? on_cpuid(ps, c, d[0], d[1]) : 0;
	if ((event & 0xfffff000u) == TRC_PV_ENTRY)
		return ours ? on_pv(ps, c, event & 0xffu & ~TRC_64_FLAG, d, n) : 0;
	ps->t->unknown++;
	return 0;
}

/* The records of one window (len bytes at p, from pcpu cpu). */
static int parse_window(struct parse *ps, const unsigned char *p, size_t len, unsigned cpu,
			size_t file_off)
{
	struct pcpu *c = pcpu_get(ps, cpu);
	size_t off = 0;

	if (!c)
		return -ENOMEM;
	while (off < len) {
		uint32_t h, d[7];
		unsigned extra;
		int rc;
		size_t size;
		bool has_tsc;

		if (len - off < 4)
			goto truncated;
		h = le32(p + off);
		extra = (h >> 28) & 7;
		has_tsc = h >> 31;
		size = 4 + (has_tsc ? 8 : 0) + 4 * (size_t)extra;
		if (len - off < size)
			goto truncated;
		if (has_tsc) {
			c->tsc = (uint64_t)le32(p + off + 8) << 32 | le32(p + off + 4);
			if (!ps->t->first_tsc || c->tsc < ps->t->first_tsc)
				ps->t->first_tsc = c->tsc;
			if (c->tsc > ps->t->last_tsc)
				ps->t->last_tsc = c->tsc;
		}
		for (unsigned i = 0; i < extra; i++)
			d[i] = le32(p + off + 4 + (has_tsc ? 8 : 0) + 4 * i);
		rc = on_record(ps, cpu, c, h & 0x0fffffffu, d, extra);
		if (rc)
			return rc;
		off += size;
	}
	return 0;
truncated:
	snprintf(ps->t->error, sizeof(ps->t->error),
		 "record at byte %zu (pcpu %u) runs past the end of its window (%zu bytes left)",
		 file_off + off, cpu, len - off);
	return -EPROTO;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->tsc != y->tsc)
		return x->tsc < y->tsc ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int counts_add(struct xt_counts *k, uint32_t code, uint64_t cycles)
{
	size_t i = 0;

	while (i < k->n_reasons && k->reasons[i].code < code)
		i++;
	if (i == k->n_reasons || k->reasons[i].code != code) {
		struct xt_reason *r = realloc(k->reasons, (k->n_reasons + 1) * sizeof(*r));

		if (!r)
			return -ENOMEM;
		memmove(r + i + 1, r + i, (k->n_reasons - i) * sizeof(*r));
		r[i] = (struct xt_reason){.code = code};
		k->reasons = r;
		k->n_reasons++;
	}
	k->reasons[i].count++;
	k->reasons[i].cycles += cycles;
	hvb_lathist_add(&k->reasons[i].h, cycles);
	k->exits++;
	k->cycles += cycles;
	hvb_lathist_add(&k->h, cycles);
	return 0;
}

/* Second pass: events in time order → per-repetition counts. */
static int summarise(struct parse *ps)
{
	struct xt_trace *t = ps->t;
	long open[MAX_VCPUS];

	for (unsigned v = 0; v < MAX_VCPUS; v++)
		open[v] = -1;
	if (ps->n_evs) /* qsort wants a buffer even for nothing */
		qsort(ps->evs, ps->n_evs, sizeof(*ps->evs), ev_cmp);
	for (size_t i = 0; i < ps->n_evs; i++) {
		const struct ev *e = &ps->evs[i];
		long *o = e->vcpu < MAX_VCPUS ? &open[e->vcpu] : NULL;
		struct xt_rep *r;

		switch (e->kind) {
		case EV_EXIT:
			if (counts_add(&t->domain, e->arg, e->cycles) ||
			    (o && *o >= 0 && counts_add(&t->reps[*o].c, e->arg, e->cycles)))
				return -ENOMEM;
			break;
		case EV_BEGIN:
			if (!o)
				break;
			r = realloc(t->reps, (t->n_reps + 1) * sizeof(*r));
			if (!r)
				return -ENOMEM;
			t->reps = r;
			r[t->n_reps] = (struct xt_rep){.rep = e->arg, .vcpu = e->vcpu,
						       .begin_tsc = e->tsc, .end_tsc = e->tsc};
			*o = (long)t->n_reps++;
			break;
		case EV_END:
			if (!o || *o < 0 || t->reps[*o].rep != e->arg) {
				t->stray_marks++;
				break;
			}
			t->reps[*o].closed = true;
			t->reps[*o].end_tsc = e->tsc;
			*o = -1;
			break;
		default: /* EV_MARK_EXIT: the markers' own exits, the domain's only */
			if (counts_add(&t->domain, e->arg, e->cycles))
				return -ENOMEM;
			break;
		}
	}
	for (size_t i = 0; i < t->n_reps; i++) {
		struct xt_rep *r = &t->reps[i];

		if (!r->closed)
			r->end_tsc = t->last_tsc;
		for (size_t j = 0; j < ps->n_lost; j++)
			if (ps->lost[j].to >= r->begin_tsc && ps->lost[j].from <= r->end_tsc)
				r->lost += ps->lost[j].n;
	}
	return 0;
}

int xt_parse(const void *buf, size_t len, uint16_t domid, struct xt_trace *t)
{
	const unsigned char *p = buf;
	struct parse ps = {.t = t, .domid = domid};
	size_t off = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	while (off < len && !rc) {
		uint32_t h, cpu, size;

		if (len - off < CPU_CHANGE_SIZE) {
			snprintf(t->error, sizeof(t->error),
				 "trace ends inside a cpu-change record at byte %zu", off);
			rc = -EPROTO;
			break;
		}
		h = le32(p + off);
		cpu = le32(p + off + 4);
		size = le32(p + off + 8);
		if (h != CPU_CHANGE_HEADER || cpu >= MAX_PCPUS) {
			snprintf(t->error, sizeof(t->error),
				 "byte %zu: expected a cpu-change record (0x%08x), found 0x%08x "
				 "(pcpu %u): not an xentrace file, or a damaged one",
				 off, CPU_CHANGE_HEADER, h, cpu);
			rc = -EPROTO;
			break;
		}
		off += CPU_CHANGE_SIZE;
		if (size > len - off) {
			snprintf(t->error, sizeof(t->error),
				 "trace truncated: the window at byte %zu (pcpu %u) declares %u "
				 "bytes, %zu are left",
				 off - CPU_CHANGE_SIZE, cpu, size, len - off);
			rc = -EPROTO;
			break;
		}
		t->windows++;
		if (cpu + 1 > t->ncpus)
			t->ncpus = cpu + 1;
		rc = parse_window(&ps, p + off, size, cpu, off);
		off += size;
	}
	if (!rc)
		rc = summarise(&ps);
	if (rc == -ENOMEM && !t->error[0])
		snprintf(t->error, sizeof(t->error), "out of memory");
	free(ps.cpus);
	free(ps.evs);
	free(ps.lost);
	if (rc) {
		char why[sizeof(t->error)];

		memcpy(why, t->error, sizeof(why));
		xt_trace_free(t);
		memcpy(t->error, why, sizeof(why));
	}
	return rc;
}

int xt_parse_file(const char *path, uint16_t domid, struct xt_trace *t)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!f) {
		rc = -errno;
		snprintf(t->error, sizeof(t->error), "cannot open %.150s: %s", path, strerror(-rc));
		return rc;
	}
	do {
		if (grow((void **)&buf, &cap, len + 65536, 1)) {
			rc = -ENOMEM;
			break;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (!rc && ferror(f))
		rc = -EIO;
	fclose(f);
	if (!rc)
		rc = xt_parse(buf, len, domid, t);
	else
		snprintf(t->error, sizeof(t->error), "cannot read %.150s: %s", path, strerror(-rc));
	free(buf);
	return rc;
}

void xt_trace_free(struct xt_trace *t)
{
	for (size_t i = 0; i < t->n_reps; i++)
		free(t->reps[i].c.reasons);
	free(t->reps);
	free(t->domain.reasons);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ exit names */

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* AMD SVM exit codes (AMD APM vol. 2, appendix C) from 0x60. */
static const char *const svm_names[] = {
	[0x60 - 0x60] = "intr", "nmi", "smi", "init", "vintr", "cr0_sel_write", "idtr_read",
	"gdtr_read", "ldtr_read", "tr_read", "idtr_write", "gdtr_write", "ldtr_write",
	"tr_write", "rdtsc", "rdpmc", "pushf", "popf", "cpuid", "rsm", "iret", "swint",
	"invd", "pause", "hlt", "invlpg", "invlpga", "ioio", "msr", "task_switch",
	"ferr_freeze", "shutdown", "vmrun", "vmmcall", "vmload", "vmsave", "stgi", "clgi",
	"skinit", "rdtscp", "icebp", "wbinvd", "monitor", "mwait", "mwait_conditional",
	"xsetbv", "rdpru", "efer_write_trap",
};

static const char *const svm_high[] = { /* from 0x400 */
	"npf", "avic_incomplete_ipi", "avic_noaccel", "vmgexit",
};

/* Exception mnemonics by vector (SVM 0x40 + vector). */
static const char *const vectors[32] = {
	"de", "db", "nmi", "bp", "of", "br", "ud", "nm", "df", NULL, "ts", "np", "ss", "gp",
	"pf", NULL, "mf", "ac", "mc", "xm", "ve", "cp",
};

/* Intel VMX basic exit reasons (SDM vol. 3, appendix C). */
static const char *const vmx_names[] = {
	"exception_nmi", "external_interrupt", "triple_fault", "init", "sipi", "io_smi",
	"other_smi", "interrupt_window", "nmi_window", "task_switch", "cpuid", "getsec",
	"hlt", "invd", "invlpg", "rdpmc", "rdtsc", "rsm", "vmcall", "vmclear", "vmlaunch",
	"vmptrld", "vmptrst", "vmread", "vmresume", "vmwrite", "vmxoff", "vmxon",
	"cr_access", "dr_access", "io_instruction", "msr_read", "msr_write",
	"invalid_guest_state", "msr_loading", NULL, "mwait", "monitor_trap_flag", NULL,
	"monitor", "pause", "mce_during_vmentry", NULL, "tpr_below_threshold",
	"apic_access", "eoi_induced", "gdtr_idtr", "ldtr_tr", "ept_violation",
	"ept_misconfig", "invept", "rdtscp", "preemption_timer", "invvpid", "wbinvd",
	"xsetbv", "apic_write", "rdrand", "invpcid", "vmfunc", "encls", "rdseed",
	"pml_full", "xsaves", "xrstors", NULL, "spp", "umwait", "tpause", "loadiwkey",
	NULL, NULL, NULL, NULL, "bus_lock", "notify",
};

static const char *svm_name(uint32_t code, char *buf, size_t len)
{
	static const char *const cr_dr[] = {"cr%u_read", "cr%u_write", "dr%u_read", "dr%u_write"};

	if (code < 0x40)
		snprintf(buf, len, cr_dr[code >> 4], code & 15);
	else if (code < 0x60 && vectors[code - 0x40])
		snprintf(buf, len, "exception_%s", vectors[code - 0x40]);
	else if (code < 0x60)
		snprintf(buf, len, "exception_%u", code - 0x40);
	else if (code - 0x60 < N(svm_names) && svm_names[code - 0x60])
		snprintf(buf, len, "%s", svm_names[code - 0x60]);
	else if (code >= 0x90 && code < 0xa0)
		snprintf(buf, len, "cr%u_write_trap", code - 0x90);
	else if (code >= 0x400 && code - 0x400 < N(svm_high))
		snprintf(buf, len, "%s", svm_high[code - 0x400]);
	else if (code == 0xffffffffu)
		snprintf(buf, len, "invalid");
	else
		return NULL;
	return buf;
}

/* Hypercall names by number (xen/include/public/xen.h). */
static const char *const hypercalls[] = {
	"set_trap_table", "mmu_update", "set_gdt", "stack_switch", "set_callbacks",
	"fpu_taskswitch", "sched_op_compat", "platform_op", "set_debugreg", "get_debugreg",
	"update_descriptor", NULL, "memory_op", "multicall", "update_va_mapping",
	"set_timer_op", "event_channel_op_compat", "xen_version", "console_io",
	"physdev_op_compat", "grant_table_op", "vm_assist", "update_va_mapping_otherdomain",
	"iret", "vcpu_op", "set_segment_base", "mmuext_op", "xsm_op", "nmi_op", "sched_op",
	"callback_op", "xenoprof_op", "event_channel_op", "physdev_op", "hvm_op", "sysctl",
	"domctl", "kexec_op", "tmem_op", "argo_op", "xenpmu_op", "dm_op", "hypfs_op",
};

/* Other TRC_PV_ENTRY events by low byte. */
static const char *const pv_events[] = {
	[1] = "hypercall_v1", [3] = "trap", [4] = "page_fault", [5] = "forced_invalid_op",
	[6] = "emulate_privop", [7] = "emulate_4gb", [8] = "math_state_restore",
	[9] = "paging_fixup", [10] = "gdt_ldt_mapping_fault", [11] = "ptwr_emulation",
	[12] = "ptwr_emulation_pae",
};

static const char *pv_name(uint32_t code, char *buf, size_t len)
{
	uint32_t x = code & 0xffff;

	if ((code & 0x00ff0000u) == 0x00010000u && x < N(hypercalls) && hypercalls[x])
		snprintf(buf, len, "pv.hypercall.%s", hypercalls[x]);
	else if ((code & 0x00ff0000u) == 0x00010000u)
		snprintf(buf, len, "pv.hypercall.%u", x);
	else if (x < N(pv_events) && pv_events[x])
		snprintf(buf, len, "pv.%s", pv_events[x]);
	else
		snprintf(buf, len, "pv.0x%x", x);
	return buf;
}

const char *xt_exit_name(enum xt_vendor v, uint32_t code, char *buf, size_t len)
{
	const char *prefix = v == XT_VMX ? "vmx." : "svm.";
	char name[40];
	const char *n = NULL;

	if (XT_IS_PV(code))
		return pv_name(code, buf, len);

	if (v == XT_VMX)
		n = code < N(vmx_names) ? vmx_names[code] : NULL;
	else
		n = svm_name(code, name, sizeof(name));
	if (n)
		snprintf(buf, len, "%s%s", prefix, n);
	else
		snprintf(buf, len, "%s0x%x", prefix, code);
	return buf;
}
