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

/*
 * The kernel names the worker "vhost-<id of the thread that made
 * VHOST_SET_OWNER>" (current->pid).  Since Linux 6.4 it is a thread of the
 * owner's process (vhost_task, /proc/self/task); before, a kernel thread
 * of its own (kthread_create), a /proc/<pid> entry outside this process.
 */
#define PF_KTHREAD 0x00200000u /* include/linux/sched.h: stat's flags field */

/* Whether the comm file at path reads exactly "vhost-<owner>". */
static bool comm_is_worker(const char *path, pid_t owner)
{
	char comm[32], want[32];
	FILE *f = fopen(path, "re");
	bool yes = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "vhost-%d", (int)owner);
	if (fgets(comm, sizeof(comm), f)) {
		comm[strcspn(comm, "\n")] = '\0';
		yes = !strcmp(comm, want);
	}
	fclose(f);
	return yes;
}

/* Whether task pid is a kernel thread (stat's ninth field has PF_KTHREAD):
 * a process may call itself "vhost-<n>", only the kernel's worker is one. */
static bool is_kthread(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned flags;
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) == 1)
		yes = flags & PF_KTHREAD;
	fclose(f);
	return yes;
}

/* Append the numeric entries of dir whose comm names owner's worker. */
static unsigned scan_dir(const char *dir, bool kthreads, pid_t owner, pid_t *tids,
			 unsigned n, unsigned max)
{
	char path[300];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return n;
	while (n < max && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "%s/%d/comm", dir, (int)tid);
		if (comm_is_worker(path, owner) && (!kthreads || is_kthread(tid)))
			tids[n++] = tid;
	}
	closedir(d);
	return n;
}

unsigned hv_vhost_workers_of(pid_t pid, pid_t owner, pid_t *tids, unsigned max)
{
	char task[64];
	unsigned n;

	snprintf(task, sizeof(task), "/proc/%d/task", (int)pid);
	n = scan_dir(task, false, owner, tids, 0, max);
	/* Readdir of /proc lists thread-group leaders only: a Linux >= 6.4
	 * worker (a thread of pid) is not found twice. */
	return scan_dir("/proc", true, owner, tids, n, max);
}

unsigned hv_vhost_worker_tids(pid_t *tids, unsigned max)
{
	return hv_vhost_workers_of(getpid(), gettid(), tids, max);
}

bool hv_vhost_is_thread_of(pid_t pid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	return pid > 0 && tid > 0 && access(path, F_OK) == 0;
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
	vh->owner_tid = gettid();
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
	vh->worker_kthread = vh->worker_tid && !hv_vhost_is_thread_of(getpid(), vh->worker_tid);
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
