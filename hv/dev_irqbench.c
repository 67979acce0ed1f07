/* The interrupt bench device (see dev_irqbench.h). */
#include "dev_irqbench.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <x86intrin.h>

#include "dev.h"
#include "exit.h"
#include "iothread.h"
#include "irqchip.h"
#include "mem.h"
#include "seccomp.h"

struct hv_irqbench {
	struct vm *vm;
	volatile struct hvb_irq_shared *shared; /* host view of the guest page */
	int kick_fd, stop_fd;
	int virq_fd[HV_MAX_VCPUS];
	unsigned n_cpus;
	struct hv_iothread io;
	struct hv_irqbench_stats st; /* atomics: read by others while it runs */
};

static uint64_t tsc_now(void)
{
	unsigned aux;

	return __rdtscp(&aux); /* waits for what came before: the wake-up */
}

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

/* The guest asked for an interrupt: on a vCPU it has, or the run ends. */
static void inject(struct hv_irqbench *d)
{
	uint64_t cpu = d->shared->virq_cpu, one = 1;

	if (cpu >= d->n_cpus) {
		add(&d->st.bad_requests, 1);
		vm_stop(d->vm, NULL, HV_GUEST_ERROR,
			"interrupt bench device: guest asked for HVB_VEC_VIRQ on vCPU %llu, but "
			"the VM has %u",
			(unsigned long long)cpu, d->n_cpus);
		return;
	}
	d->shared->inject_tsc = tsc_now();
	if (write(d->virq_fd[cpu], &one, sizeof(one)) != sizeof(one)) {
		add(&d->st.irqfd_errors, 1);
		return;
	}
	add(&d->st.injections, 1);
	d->shared->injections = d->st.injections;
}

/* One wake-up: n kicks (the eventfd's count) since the last. */
static void serve_kick(struct hv_irqbench *d, uint64_t n)
{
	uint64_t rx = tsc_now();

	d->shared->kick_rx_tsc = rx;
	add(&d->st.wakeups, 1);
	add(&d->st.kicks, n);
	d->shared->kicks = d->st.kicks;
	if (d->shared->virq_req && d->st.virq)
		inject(d);
	/* Last, with release order: kick_seq tells the guest that this kick's
	 * stamps and totals are written (rt_kick returns on it); published
	 * first, the guest could read the previous injection's inject_tsc. */
	__atomic_store_n(&d->shared->kick_seq, d->shared->seq, __ATOMIC_RELEASE);
}

static void irqbench_loop(void *arg)
{
	struct hv_irqbench *d = arg;
	struct pollfd pf[2] = {{.fd = d->kick_fd, .events = POLLIN},
			       {.fd = d->stop_fd, .events = POLLIN}};
	uint64_t n;

	while (!hv_iothread_stopping(&d->io)) {
		if (poll(pf, 2, -1) < 0)
			continue; /* EINTR */
		if ((pf[0].revents & POLLIN) && read(d->kick_fd, &n, sizeof(n)) == sizeof(n))
			serve_kick(d, n);
	}
}

static void irqbench_wake(void *arg)
{
	struct hv_irqbench *d = arg;
	uint64_t one = 1;

	if (write(d->stop_fd, &one, sizeof(one)) != sizeof(one))
		return; /* the counter is full: the thread is awake anyway */
}

static const struct hv_iothread_ops irqbench_ops = {irqbench_loop, irqbench_wake};

/* An irqfd per vCPU raising HVB_VEC_VIRQ there (none without an irqchip). */
static int add_irqfds(struct hv_irqbench *d)
{
	if (d->vm->irqchip == HV_IRQCHIP_NONE)
		return 0;
	for (unsigned i = 0; i < d->n_cpus; i++) {
		int r = vm_irqfd_add(d->vm, HVB_VEC_VIRQ, i, &d->virq_fd[i]);
		if (r)
			return r;
	}
	d->st.virq = true;
	return 0;
}

int dev_irqbench_attach(struct vm *vm, const struct hv_irqbench_config *cfg,
			struct hv_irqbench **out)
{
	struct hv_irqbench *d;
	int r;

	if (!vm->n_vcpus)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->n_cpus = vm->n_vcpus;
	d->stop_fd = -1;
	r = vm_mem_add(vm, HVB_SHARED_IRQ, 4096);
	if (r)
		goto err;
	d->shared = vm_gpa_to_hva_checked(vm, HVB_SHARED_IRQ, sizeof(struct hvb_irq_shared));
	if (!d->shared) {
		r = -EFAULT;
		goto err;
	}
	r = vm_ioeventfd_add_fd(vm, HVB_PORT_KICK, true, &d->kick_fd);
	if (!r)
		r = add_irqfds(d);
	if (r)
		goto err;
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0) {
		r = -errno;
		goto err;
	}
	r = hv_iothread_start(&d->io, cfg->io_cpu,
			      cfg->seccomp ? hv_seccomp_irqbench_install : NULL, &irqbench_ops, d);
	if (r) {
		hv_iothread_stop(&d->io);
		goto err;
	}
	*out = d;
	return 0;

err:
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	free(d);
	return r;
}

void dev_irqbench_detach(struct hv_irqbench *d)
{
	if (!d)
		return;
	hv_iothread_stop(&d->io);
	close(d->stop_fd);
	free(d);
}

void dev_irqbench_stats(const struct hv_irqbench *d, struct hv_irqbench_stats *st)
{
	st->wakeups = __atomic_load_n(&d->st.wakeups, __ATOMIC_RELAXED);
	st->kicks = __atomic_load_n(&d->st.kicks, __ATOMIC_RELAXED);
	st->injections = __atomic_load_n(&d->st.injections, __ATOMIC_RELAXED);
	st->bad_requests = __atomic_load_n(&d->st.bad_requests, __ATOMIC_RELAXED);
	st->irqfd_errors = __atomic_load_n(&d->st.irqfd_errors, __ATOMIC_RELAXED);
	st->virq = d->st.virq;
}

pid_t dev_irqbench_tid(const struct hv_irqbench *d)
{
	return hv_iothread_tid(&d->io);
}
