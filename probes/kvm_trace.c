/* KVM tracepoints through perf_event_open (kvm_trace.h). */
#include "kvm_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xentrace.h"

/* ------------------------------------------------------ format files */

static int fmt_err(char *err, size_t len, const char *what, unsigned line)
{
	snprintf(err, len, "format line %u: %s", line, what);
	return -EINVAL;
}

/* "\tfield:unsigned int exit_reason;\toffset:8;\tsize:4;\tsigned:0;" */
static int parse_field(const char *l, struct kvm_trace_field *f)
{
	const char *semi = strchr(l, ';'), *name;
	unsigned off, size, sgn;
	size_t n;

	if (!semi)
		return -1;
	for (name = semi; name > l && name[-1] != ' ' && name[-1] != '\t'; name--)
		;
	if (sscanf(semi + 1, " offset:%u; size:%u; signed:%u;", &off, &size, &sgn) != 3)
		return -1;
	n = (size_t)(semi - name);
	if (memchr(name, '[', n)) /* an array: "char comm[16]" */
		n = (size_t)((const char *)memchr(name, '[', n) - name);
	if (!n || n >= sizeof(f->name) || off > 65535 || size > 65535 || sgn > 1)
		return -1;
	memcpy(f->name, name, n);
	f->name[n] = '\0';
	f->offset = off, f->size = size, f->is_signed = sgn;
	return 0;
}

static int format_line(struct kvm_trace_format *fmt, const char *l, unsigned line, char *err,
		       size_t errlen)
{
	unsigned id;

	while (*l == ' ' || *l == '\t')
		l++;
	if (!strncmp(l, "name: ", 6)) {
		if (!sscanf(l + 6, "%47s", fmt->name))
			return fmt_err(err, errlen, "empty name", line);
	} else if (!strncmp(l, "ID: ", 4)) {
		if (sscanf(l + 4, "%u", &id) != 1 || !id)
			return fmt_err(err, errlen, "ID is not a positive number", line);
		fmt->id = id;
	} else if (!strncmp(l, "field:", 6)) {
		if (fmt->n == KVM_TRACE_MAX_FIELDS)
			return fmt_err(err, errlen, "too many fields", line);
		if (parse_field(l + 6, &fmt->f[fmt->n]))
			return fmt_err(err, errlen, "field line does not parse", line);
		fmt->n++;
	}
	return 0;
}

/* Only name:, ID: and field: lines matter; the others (format:, the print
 * fmt line, which runs to kilobytes) are skipped whatever their length. */
static bool wanted_line(const char *l, size_t n)
{
	while (n && (*l == ' ' || *l == '\t'))
		l++, n--;
	return (n >= 6 && !strncmp(l, "name: ", 6)) || (n >= 4 && !strncmp(l, "ID: ", 4)) ||
	       (n >= 6 && !strncmp(l, "field:", 6));
}

int kvm_trace_format_parse(const char *text, size_t len, struct kvm_trace_format *fmt,
			   char *err, size_t errlen)
{
	char line[512];
	unsigned no = 0;
	int r;

	memset(fmt, 0, sizeof(*fmt));
	if (memchr(text, '\0', len))
		return fmt_err(err, errlen, "NUL byte in the file", 1);
	for (size_t i = 0; i < len; i++, no++) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;

		if (wanted_line(text + i, n)) {
			if (n >= sizeof(line))
				return fmt_err(err, errlen, "line too long", no + 1);
			memcpy(line, text + i, n);
			line[n] = '\0';
			if ((r = format_line(fmt, line, no + 1, err, errlen)))
				return r;
		}
		i += n;
	}
	if (!fmt->name[0] || !fmt->id)
		return fmt_err(err, errlen, "no name: or ID: line", no);
	return 0;
}

const struct kvm_trace_field *kvm_trace_field(const struct kvm_trace_format *fmt,
					      const char *name)
{
	for (unsigned i = 0; fmt && i < fmt->n; i++)
		if (!strcmp(fmt->f[i].name, name))
			return &fmt->f[i];
	return NULL;
}

bool kvm_trace_get(const struct kvm_trace_field *f, const void *raw, size_t len, uint64_t *out)
{
	const uint8_t *p = raw;
	uint64_t v = 0;

	if (!f || (f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8) ||
	    (size_t)f->offset + f->size > len)
		return false;
	for (unsigned i = 0; i < f->size; i++)
		v |= (uint64_t)p[f->offset + i] << (8 * i);
	if (f->is_signed && f->size < 8 && (v >> (8 * f->size - 1)) & 1)
		v |= ~0ull << (8 * f->size);
	*out = v;
	return true;
}

/* ----------------------------------------------------- perf records */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

int kvm_trace_decode(const void *rec, size_t len, struct kvm_trace_sample *s, uint64_t *lost)
{
	const uint8_t *p = rec;
	struct perf_event_header h;

	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (h.size < sizeof(h) || h.size > len)
		return -EINVAL;
	if (h.type == PERF_RECORD_LOST) {
		if (h.size < sizeof(h) + 16)
			return -EINVAL;
		*lost = rd64(p + sizeof(h) + 8);
		return KVM_TRACE_REC_LOST;
	}
	if (h.type != PERF_RECORD_SAMPLE)
		return KVM_TRACE_REC_OTHER;
	/* pid, tid; time; cpu, res; raw size, raw */
	if (h.size < sizeof(h) + 28)
		return -EINVAL;
	p += sizeof(h);
	s->pid = rd32(p), s->tid = rd32(p + 4);
	s->time = rd64(p + 8);
	s->cpu = rd32(p + 16);
	s->raw_size = rd32(p + 24);
	if (s->raw_size > h.size - sizeof(h) - 28)
		return -EINVAL;
	s->raw = p + 28;
	return KVM_TRACE_REC_SAMPLE;
}

/* --------------------------------------------------------- accounting */

void kvm_trace_acct_init(struct kvm_trace_acct *a, const struct kvm_trace_events *ev)
{
	memset(a, 0, sizeof(*a));
	a->ev = ev;
}

void kvm_trace_acct_reset(struct kvm_trace_acct *a)
{
	kvm_trace_acct_init(a, a->ev);
}

static struct kvm_trace_reason *reason_get(struct kvm_trace_acct *a, const char *name)
{
	for (unsigned i = 0; i < a->n; i++)
		if (!strcmp(a->r[i].name, name))
			return &a->r[i];
	if (a->n == KVM_TRACE_MAX_REASONS) {
		a->overflow++;
		return NULL;
	}
	snprintf(a->r[a->n].name, sizeof(a->r[a->n].name), "%s", name);
	return &a->r[a->n++];
}

static void count(struct kvm_trace_acct *a, const char *name)
{
	struct kvm_trace_reason *r = reason_get(a, name);

	if (r)
		r->count++;
}

static struct kvm_trace_pending *vcpu_get(struct kvm_trace_acct *a, uint32_t tid)
{
	for (unsigned i = 0; i < a->nv; i++)
		if (a->v[i].tid == tid)
			return &a->v[i];
	if (a->nv == KVM_TRACE_MAX_VCPUS) {
		a->overflow++;
		return NULL;
	}
	a->v[a->nv] = (struct kvm_trace_pending){ .tid = tid };
	return &a->v[a->nv++];
}

static bool is(const struct kvm_trace_format *f, uint64_t type)
{
	return f && f->id == type;
}

/* kvm_exit's isa field: KVM_ISA_VMX 1, KVM_ISA_SVM 2. */
static void on_kvm_exit(struct kvm_trace_acct *a, const struct kvm_trace_sample *s,
		    const struct kvm_trace_format *f)
{
	struct kvm_trace_pending *v = vcpu_get(a, s->tid);
	uint64_t code, isa = 1;

	if (!kvm_trace_get(kvm_trace_field(f, "exit_reason"), s->raw, s->raw_size, &code)) {
		a->undecodable++;
		return;
	}
	kvm_trace_get(kvm_trace_field(f, "isa"), s->raw, s->raw_size, &isa);
	if (!v)
		return;
	if (v->open)
		a->exit_without_entry++;
	if (isa == 1)
		code &= 0xffff; /* the basic exit reason; bit 31 = failed entry */
	xt_exit_name(isa == 2 ? XT_SVM : XT_VMX, (uint32_t)code, v->reason, sizeof(v->reason));
	v->open = true, v->split = false, v->t = s->time, v->cpu = s->cpu;
}

static void on_kvm_entry(struct kvm_trace_acct *a, const struct kvm_trace_sample *s)
{
	struct kvm_trace_pending *v = vcpu_get(a, s->tid);
	struct kvm_trace_reason *r;

	if (!v)
		return;
	if (!v->open) {
		a->entry_without_exit++;
		return;
	}
	v->open = false;
	if (v->cpu != s->cpu)
		a->migrations++;
	if (!(r = reason_get(a, v->reason)))
		return;
	r->count++;
	if (s->time < v->t) {
		a->backwards++;
		return;
	}
	r->timed = true;
	hvb_lathist_add(&r->h, s->time - v->t);
}

/* A kvm_pio or kvm_mmio between an exit and its entry names the exit
 * (perf kvm stat's ioport and mmio events); else it is counted alone. */
static void on_access(struct kvm_trace_acct *a, const struct kvm_trace_sample *s,
		      const char *ev, const char *kind)
{
	struct kvm_trace_pending *v = vcpu_get(a, s->tid);
	char name[KVM_TRACE_NAME * 2];

	if (v && v->open && !v->split) {
		size_t used = strlen(v->reason);
		snprintf(v->reason + used, sizeof(v->reason) - used, ".%s", kind);
		v->split = true;
		return;
	}
	snprintf(name, sizeof(name), "%s.%s", ev, kind);
	count(a, name);
}

static const char *const mmio_kinds[] = { "mmio_read_unsatisfied", "mmio_read", "mmio_write" };
static const char *const exit_names[] = {
	"unknown", "exception", "io", "hypercall", "debug", "hlt", "mmio", "irq_window_open",
	"shutdown", "fail_entry", "intr", "set_tpr", "tpr_access", "s390_sieic", "s390_reset",
	"dcr", "nmi", "internal_error", "osi", "papr_hcall", "s390_ucontrol", "watchdog",
	"s390_tsch", "epr", "system_event", "s390_stsi", "ioapic_eoi", "hyperv", "arm_nisv",
	"x86_rdmsr", "x86_wrmsr",
};

static bool field(struct kvm_trace_acct *a, const struct kvm_trace_format *f,
		  const struct kvm_trace_sample *s, const char *name, uint64_t *v)
{
	if (kvm_trace_get(kvm_trace_field(f, name), s->raw, s->raw_size, v))
		return true;
	a->undecodable++;
	return false;
}

static void on_userspace_exit(struct kvm_trace_acct *a, const struct kvm_trace_sample *s)
{
	uint64_t reason, err;
	char name[KVM_TRACE_NAME];

	if (!field(a, a->ev->userspace_exit, s, "reason", &reason) ||
	    !field(a, a->ev->userspace_exit, s, "errno", &err))
		return;
	if ((int64_t)err < 0)
		snprintf(name, sizeof(name), "kvm_userspace_exit.%s",
			 (int64_t)err == -EINTR ? "restart" : "error");
	else if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
		snprintf(name, sizeof(name), "kvm_userspace_exit.%s", exit_names[reason]);
	else
		snprintf(name, sizeof(name), "kvm_userspace_exit.0x%llx", (unsigned long long)reason);
	count(a, name);
}

void kvm_trace_acct_sample(struct kvm_trace_acct *a, const struct kvm_trace_sample *s)
{
	const struct kvm_trace_events *ev = a->ev;
	uint64_t type, v;

	if (s->raw_size < 2) {
		a->undecodable++;
		return;
	}
	type = (uint64_t)s->raw[0] | (uint64_t)s->raw[1] << 8; /* common_type */
	if (is(ev->exit, type))
		on_kvm_exit(a, s, ev->exit);
	else if (is(ev->entry, type))
		on_kvm_entry(a, s);
	else if (is(ev->pio, type) && field(a, ev->pio, s, "rw", &v))
		on_access(a, s, "kvm_pio", v ? "pio_out" : "pio_in");
	else if (is(ev->mmio, type) && field(a, ev->mmio, s, "type", &v))
		on_access(a, s, "kvm_mmio", v < 3 ? mmio_kinds[v] : "mmio_other");
	else if (is(ev->userspace_exit, type))
		on_userspace_exit(a, s);
	else if (is(ev->msr, type) && field(a, ev->msr, s, "write", &v))
		count(a, v ? "kvm_msr.write" : "kvm_msr.read");
	else
		for (unsigned i = 0; i < ev->n_counted; i++)
			if (is(ev->counted[i], type))
				count(a, ev->counted[i]->name);
}

void kvm_trace_acct_lost(struct kvm_trace_acct *a, uint64_t lost)
{
	a->lost_records += lost;
	for (unsigned i = 0; i < a->nv; i++) {
		a->dropped_pending += a->v[i].open;
		a->v[i].open = false; /* its entry may be among the lost */
	}
}

int kvm_trace_acct_buffer(struct kvm_trace_acct *a, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct kvm_trace_sample s;
	uint64_t lost;

	while (len) {
		int r = kvm_trace_decode(p, len, &s, &lost);
		uint16_t size;

		if (r < 0)
			return r;
		if (r == KVM_TRACE_REC_SAMPLE)
			kvm_trace_acct_sample(a, &s);
		else if (r == KVM_TRACE_REC_LOST)
			kvm_trace_acct_lost(a, lost);
		memcpy(&size, p + 6, 2);
		p += size, len -= size;
	}
	return 0;
}

/* --------------------------------------------------------------- live */

#define RING_PAGES 2048 /* data pages: 8 MiB, about 140000 kvm_pio-sized records */

struct kvm_trace {
	int fd[16];
	unsigned nfd;
	struct kvm_trace_format fmt[16];
	struct kvm_trace_events ev;
	void *ring;
	size_t ring_len, page;
	uint8_t *scratch; /* a record that wraps the ring end, copied whole */
	FILE *record;
};

static const char *const tracefs_dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

static const char *tracefs_find(char *err, size_t len)
{
	struct stat st;

	for (unsigned i = 0; i < 2; i++) {
		char p[96];
		snprintf(p, sizeof(p), "%s/events", tracefs_dirs[i]);
		if (!stat(p, &st))
			return tracefs_dirs[i];
	}
	if (mount("nodev", tracefs_dirs[0], "tracefs", 0, NULL) == 0)
		return tracefs_dirs[0];
	snprintf(err, len, "no tracefs at /sys/kernel/tracing and mounting it failed: %s",
		 strerror(errno));
	return NULL;
}

static int read_format(const char *dir, const char *name, struct kvm_trace_format *fmt,
		       char *err, size_t len)
{
	char path[256], text[16384];
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof(path), "%s/events/kvm/%s/format", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text));
	r = n < 0 ? -errno : 0;
	close(fd);
	if (!r && (r = kvm_trace_format_parse(text, (size_t)n, fmt, err, len)))
		return r;
	return r;
}

static void events_add(struct kvm_trace_events *ev, const struct kvm_trace_format *f)
{
	const char *n = f->name;

	if (!strcmp(n, "kvm_exit"))
		ev->exit = f;
	else if (!strcmp(n, "kvm_entry"))
		ev->entry = f;
	else if (!strcmp(n, "kvm_pio"))
		ev->pio = f;
	else if (!strcmp(n, "kvm_mmio"))
		ev->mmio = f;
	else if (!strcmp(n, "kvm_userspace_exit"))
		ev->userspace_exit = f;
	else if (!strcmp(n, "kvm_msr"))
		ev->msr = f;
	else if (ev->n_counted < 8)
		ev->counted[ev->n_counted++] = f;
}

static int open_one(struct kvm_trace *t, pid_t tid, const struct kvm_trace_format *f)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_TRACEPOINT, .size = sizeof(a), .config = f->id,
		.sample_period = 1, .disabled = 1, .wakeup_events = 1,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			       PERF_SAMPLE_RAW,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (t->nfd && ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, t->fd[0]) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	t->fd[t->nfd++] = fd;
	return 0;
}

static int map_ring(struct kvm_trace *t)
{
	t->page = (size_t)sysconf(_SC_PAGESIZE);
	t->ring_len = (RING_PAGES + 1) * t->page;
	t->ring = mmap(NULL, t->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd[0], 0);
	if (t->ring == MAP_FAILED) {
		t->ring = NULL;
		return -errno;
	}
	t->scratch = malloc(65536);
	return t->scratch ? 0 : -ENOMEM;
}

int kvm_trace_open(struct kvm_trace **out, pid_t tid, const char *const *names, unsigned n,
		   char *err, size_t errlen)
{
	struct kvm_trace *t = calloc(1, sizeof(*t));
	const char *dir = t ? tracefs_find(err, errlen) : NULL;
	int r = t ? 0 : -ENOMEM;

	if (t && !dir)
		r = -ENOENT;
	for (unsigned i = 0; !r && i < n && t->nfd < 16; i++) {
		struct kvm_trace_format *f = &t->fmt[t->nfd];
		if (read_format(dir, names[i], f, err, errlen))
			continue; /* this kernel has no such event */
		if ((r = open_one(t, tid, f)))
			snprintf(err, errlen, "perf_event_open of kvm:%s on thread %d: %s",
				 names[i], (int)tid, strerror(-r));
		else
			events_add(&t->ev, f);
		if (!r && t->nfd == 1 && (r = map_ring(t)))
			snprintf(err, errlen, "mmap of the ring buffer: %s", strerror(-r));
	}
	if (!r && t && !t->nfd) {
		snprintf(err, errlen, "none of the kvm events is in %s/events/kvm", dir);
		r = -ENOENT;
	}
	if (r) {
		kvm_trace_close(t);
		return r;
	}
	*out = t;
	return 0;
}

const struct kvm_trace_events *kvm_trace_events(const struct kvm_trace *t)
{
	return &t->ev;
}

int kvm_trace_enable(struct kvm_trace *t, bool on)
{
	for (unsigned i = 0; i < t->nfd; i++)
		if (ioctl(t->fd[i], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0) < 0)
			return -errno;
	return 0;
}

/* Copy len bytes at ring offset off (wrapping) into dst. */
static void ring_copy(const struct kvm_trace *t, uint64_t off, void *dst, size_t len)
{
	const uint8_t *data = (const uint8_t *)t->ring + t->page;
	size_t size = RING_PAGES * t->page, at = (size_t)(off % size), first = size - at;

	if (first > len)
		first = len;
	memcpy(dst, data + at, first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

int kvm_trace_drain(struct kvm_trace *t, struct kvm_trace_acct *a)
{
	struct perf_event_mmap_page *m = t->ring;
	uint64_t head = __atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE), tail = m->data_tail;
	struct perf_event_header h;
	int r = 0;

	while (!r && tail + sizeof(h) <= head) {
		ring_copy(t, tail, &h, sizeof(h));
		if (h.size < sizeof(h) || tail + h.size > head) {
			r = -EPROTO;
			break;
		}
		ring_copy(t, tail, t->scratch, h.size);
		if (t->record && fwrite(t->scratch, h.size, 1, t->record) != 1)
			r = -EIO;
		if (!r && a)
			r = kvm_trace_acct_buffer(a, t->scratch, h.size);
		tail += h.size;
	}
	__atomic_store_n(&m->data_tail, tail, __ATOMIC_RELEASE);
	return r;
}

void kvm_trace_record_to(struct kvm_trace *t, FILE *f)
{
	t->record = f;
}

void kvm_trace_close(struct kvm_trace *t)
{
	if (!t)
		return;
	if (t->ring)
		munmap(t->ring, t->ring_len);
	for (unsigned i = t->nfd; i-- > 0;)
		close(t->fd[i]);
	free(t->scratch);
	free(t);
}
