/*
 * vhost-net: the kernel data path behind the core's virtio-net (see
 * vhost_net.h).  Not exercised against a kernel on the machines this was
 * written on (their kernel has no CONFIG_VHOST_NET): the translations and
 * the ioctl sequence of start and stop, with their arguments and a failing
 * step, are unit-tested against a recorder (tests/unit/test_virtio_net.c);
 * the sequence follows QEMU's hw/virtio/vhost.c and Linux's
 * drivers/vhost/net.c.
 */
#include "vhost_net.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VHOST_NEED ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX))

static int fail(char *why, size_t len, int err, const char *what)
{
	snprintf(why, len, "vhost-net: %s: %s", what, strerror(err));
	return -err;
}

static int vh_ioctl(const struct hv_vhost *vh, unsigned long req, const void *arg)
{
	if (vh->ioctl_fn)
		return vh->ioctl_fn(vh->fd, req, (void *)arg);
	return ioctl(vh->fd, req, arg) ? -errno : 0;
}

/* ------------------------------------------------------------ worker thread */

/* Whether thread tid of this process is named "vhost-<our pid>". */
static bool is_vhost_worker(pid_t tid)
{
	char path[64], comm[32], want[32];
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
	snprintf(want, sizeof(want), "vhost-%d", (int)getpid());
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(comm, sizeof(comm), f)) {
		comm[strcspn(comm, "\n")] = '\0';
		yes = !strcmp(comm, want);
	}
	fclose(f);
	return yes;
}

unsigned hv_vhost_worker_tids(pid_t *tids, unsigned max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while (n < max && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid > 0 && is_vhost_worker(tid))
			tids[n++] = tid;
	}
	closedir(d);
	return n;
}

pid_t hv_vhost_find_worker(const pid_t *before, unsigned n_before)
{
	pid_t now[16];
	unsigned n = hv_vhost_worker_tids(now, 16);

	for (unsigned i = 0; i < n; i++) {
		bool old = false;
		for (unsigned j = 0; j < n_before; j++)
			old |= before[j] == now[i];
		if (!old)
			return now[i];
	}
	return 0;
}

/* ------------------------------------------------------------ open, close */

int hv_vhost_open(struct hv_vhost *vh, const char *path, int tap_fd, char *why, size_t len)
{
	pid_t before[16];
	unsigned n_before = hv_vhost_worker_tids(before, 16);
	int r;

	memset(vh, 0, sizeof(*vh));
	vh->tap_fd = tap_fd;
	vh->call_fd[0] = vh->call_fd[1] = -1;
	path = path ? path : "/dev/vhost-net";
	vh->fd = open(path, O_RDWR | O_CLOEXEC);
	if (vh->fd < 0) {
		r = errno;
		snprintf(why, len,
			 "vhost-net: cannot open %s: %s (%s)", path, strerror(r),
			 r == ENOENT ? "this kernel has no vhost-net: modprobe vhost_net, or use "
				       "the tap backend"
				     : "needs root or access to the device");
		return -r;
	}
	r = vh_ioctl(vh, VHOST_SET_OWNER, NULL);
	if (!r)
		r = vh_ioctl(vh, VHOST_GET_FEATURES, &vh->features);
	if (r) {
		r = fail(why, len, -r, "VHOST_SET_OWNER / VHOST_GET_FEATURES");
		goto err;
	}
	if ((vh->features & VHOST_NEED) != VHOST_NEED) {
		snprintf(why, len, "vhost-net: the kernel offers features 0x%llx, without "
			 "VERSION_1 or EVENT_IDX", (unsigned long long)vh->features);
		r = -EOPNOTSUPP;
		goto err;
	}
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++) {
		vh->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vh->call_fd[q] < 0) {
			r = fail(why, len, errno, "eventfd");
			goto err;
		}
	}
	vh->worker_tid = hv_vhost_find_worker(before, n_before);
	return 0;
err:
	hv_vhost_close(vh);
	return r;
}

void hv_vhost_close(struct hv_vhost *vh)
{
	hv_vhost_stop(vh);
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++)
		if (vh->call_fd[q] >= 0)
			close(vh->call_fd[q]);
	if (vh->fd >= 0)
		close(vh->fd);
	vh->fd = -1;
	vh->call_fd[0] = vh->call_fd[1] = -1;
}

/* ------------------------------------------------------------ translations */

void hv_vhost_mem_table(const struct vm *vm, struct hv_vhost_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->nregions = vm->n_mem;
	for (unsigned i = 0; i < vm->n_mem; i++)
		m->region[i] = (struct vhost_memory_region){
		    .guest_phys_addr = vm->mem[i].gpa,
		    .memory_size = vm->mem[i].size,
		    .userspace_addr = (uint64_t)(uintptr_t)vm->mem[i].hva,
		};
}

void hv_vhost_vring_addr(const struct virtq *q, unsigned index, struct vhost_vring_addr *a)
{
	*a = (struct vhost_vring_addr){
	    .index = index,
	    .desc_user_addr = (uint64_t)(uintptr_t)q->desc,
	    .avail_user_addr = (uint64_t)(uintptr_t)q->avail,
	    .used_user_addr = (uint64_t)(uintptr_t)q->used,
	};
}

/* ------------------------------------------------------------ start, stop */

static int vring_setup(struct hv_vhost *vh, const struct virtq *q, unsigned i, int kick_fd)
{
	struct vhost_vring_state num = {.index = i, .num = q->num};
	struct vhost_vring_state base = {.index = i, .num = q->last_avail};
	struct vhost_vring_file kick = {.index = i, .fd = kick_fd};
	struct vhost_vring_file call = {.index = i, .fd = vh->call_fd[i]};
	struct vhost_vring_addr addr;
	int r;

	hv_vhost_vring_addr(q, i, &addr);
	r = vh_ioctl(vh, VHOST_SET_VRING_NUM, &num);
	if (!r)
		r = vh_ioctl(vh, VHOST_SET_VRING_BASE, &base);
	if (!r)
		r = vh_ioctl(vh, VHOST_SET_VRING_ADDR, &addr);
	if (!r)
		r = vh_ioctl(vh, VHOST_SET_VRING_KICK, &kick);
	if (!r)
		r = vh_ioctl(vh, VHOST_SET_VRING_CALL, &call);
	return r;
}

static int set_backend(struct hv_vhost *vh, unsigned q, int fd)
{
	struct vhost_vring_file b = {.index = q, .fd = fd};

	return vh_ioctl(vh, VHOST_NET_SET_BACKEND, &b);
}

int hv_vhost_start(struct hv_vhost *vh, const struct vm *vm, const struct virtio_mmio *t,
		   const int kick_fd[HV_VHOST_QUEUES], char *why, size_t len)
{
	uint64_t features = t->driver_features & VHOST_NEED;
	struct hv_vhost_mem mem;
	int r;

	if (vh->running)
		return 0;
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++)
		if (!t->vq[q].ready) {
			snprintf(why, len, "vhost-net: queue %u not ready at DRIVER_OK", q);
			return -EINVAL;
		}
	hv_vhost_mem_table(vm, &mem);
	r = vh_ioctl(vh, VHOST_SET_FEATURES, &features);
	if (r)
		return fail(why, len, -r, "VHOST_SET_FEATURES");
	r = vh_ioctl(vh, VHOST_SET_MEM_TABLE, &mem);
	if (r)
		return fail(why, len, -r, "VHOST_SET_MEM_TABLE");
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++) {
		r = vring_setup(vh, &t->vq[q], q, kick_fd[q]);
		if (r)
			return fail(why, len, -r, "VHOST_SET_VRING_*");
	}
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++) {
		r = set_backend(vh, q, vh->tap_fd);
		if (r) {
			for (unsigned p = 0; p < q; p++)
				set_backend(vh, p, -1);
			return fail(why, len, -r, "VHOST_NET_SET_BACKEND");
		}
	}
	vh->running = true;
	return 0;
}

void hv_vhost_stop(struct hv_vhost *vh)
{
	if (!vh->running)
		return;
	for (unsigned q = 0; q < HV_VHOST_QUEUES; q++) {
		struct vhost_vring_state base = {.index = q};
		set_backend(vh, q, -1);
		vh_ioctl(vh, VHOST_GET_VRING_BASE, &base); /* the kernel lets go of the ring */
	}
	vh->running = false;
}
