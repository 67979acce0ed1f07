#include "topology.h"

#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hwloc topologies are costly to build (sysfs walk); load once per process. */
static hwloc_topology_t topo;
static int topo_err;

static hwloc_topology_t get_topo(void)
{
	if (topo || topo_err)
		return topo;
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo)) {
		topo_err = -EIO;
		topo = NULL;
	}
	return topo;
}

int hvb_topo_pu_count(void)
{
	hwloc_topology_t t = get_topo();
	return t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU) : -1;
}

int hvb_topo_default_pu(void)
{
	hwloc_topology_t t = get_topo();
	int n = t ? hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU) : 0;
	hwloc_obj_t pu = n > 0 ? hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, (unsigned)n - 1) : NULL;

	return pu ? (int)pu->os_index : -1;
}

static int ancestor_index(hwloc_topology_t t, hwloc_obj_t pu, hwloc_obj_type_t type)
{
	hwloc_obj_t o = hwloc_get_ancestor_obj_by_type(t, type, pu);
	return o ? (int)o->logical_index : -1;
}

int hvb_topo_pin_thread(int pu_index, char *desc, size_t len)
{
	hwloc_topology_t t = get_topo();
	hwloc_obj_t pu;

	if (!t)
		return topo_err;
	pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)pu_index);
	if (!pu)
		return -EINVAL;
	if (hwloc_set_cpubind(t, pu->cpuset, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT))
		return -errno;
	snprintf(desc, len, "pu=%d core=%d package=%d numa=%d", pu_index,
		 ancestor_index(t, pu, HWLOC_OBJ_CORE), ancestor_index(t, pu, HWLOC_OBJ_PACKAGE),
		 ancestor_index(t, pu, HWLOC_OBJ_NUMANODE));
	return 0;
}

/* The logical index of pu's cache of depth level, or -1: no such cache. */
static int cache_index(hwloc_topology_t t, hwloc_obj_t pu, unsigned level)
{
	for (hwloc_obj_t o = pu->parent; o; o = o->parent)
		if (hwloc_obj_type_is_cache(o->type) && o->attr && o->attr->cache.depth == level &&
		    o->attr->cache.type != HWLOC_OBJ_CACHE_INSTRUCTION)
			return (int)o->logical_index;
	(void)t;
	return -1;
}

static void put_index(char *buf, size_t len, const char *name, int i)
{
	size_t o = strlen(buf);

	if (i < 0)
		snprintf(buf + o, len - o, " %s=none", name);
	else
		snprintf(buf + o, len - o, " %s=%d", name, i);
}

/* hwloc 2 hangs NUMA nodes beside the CPU tree (memory children), so a
 * PU's node is the one whose cpuset holds it. */
static int numa_index(hwloc_topology_t t, hwloc_obj_t pu)
{
	hwloc_obj_t n = NULL;

	while ((n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)))
		if (n->cpuset && hwloc_bitmap_isset(n->cpuset, pu->os_index))
			return (int)n->logical_index;
	return -1;
}

int hvb_topo_describe_pu(int pu_index, char *desc, size_t len)
{
	hwloc_topology_t t = get_topo();
	hwloc_obj_t pu;

	if (!t)
		return topo_err;
	if (pu_index < 0 || !(pu = hwloc_get_pu_obj_by_os_index(t, (unsigned)pu_index)))
		return -EINVAL;
	snprintf(desc, len, "pu=%d", pu_index);
	put_index(desc, len, "core", ancestor_index(t, pu, HWLOC_OBJ_CORE));
	put_index(desc, len, "l2", cache_index(t, pu, 2));
	put_index(desc, len, "l3", cache_index(t, pu, 3));
	put_index(desc, len, "numa", numa_index(t, pu));
	return 0;
}

int hvb_topo_stat_cpu(const char *stat)
{
	const char *p = strrchr(stat, ')');
	char *end;
	long cpu;

	if (!p || !strchr(stat, '('))
		return -EPROTO;
	/* After ") " comes field 3 (state): field 39 is 36 fields further. */
	p++;
	for (int field = 3; field <= 39; field++) {
		if (*p != ' ')
			return -EPROTO;
		p++;
		if (field == 39)
			break;
		p += strcspn(p, " \n");
	}
	if (*p < '0' || *p > '9')
		return -EPROTO;
	cpu = strtol(p, &end, 10);
	if ((*end && *end != ' ' && *end != '\n') || cpu > 1 << 20)
		return -EPROTO;
	return (int)cpu;
}

int hvb_topo_task_cpu(int pid, int tid)
{
	char path[64], buf[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return hvb_topo_stat_cpu(buf);
}

static unsigned long long cache_size(hwloc_topology_t t, hwloc_obj_type_t type)
{
	hwloc_obj_t o = hwloc_get_obj_by_type(t, type, 0);
	return o && o->attr ? (unsigned long long)o->attr->cache.size : 0;
}

void hvb_topo_summary(char *buf, size_t len)
{
	hwloc_topology_t t = get_topo();

	if (!t) {
		snprintf(buf, len, "unavailable: hwloc could not load the topology");
		return;
	}
	snprintf(buf, len, "packages=%d cores=%d pus=%d numa=%d l1d=%lluK l2=%lluK l3=%lluK",
		 hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE),
		 hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE),
		 hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU),
		 hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE),
		 cache_size(t, HWLOC_OBJ_L1CACHE) >> 10, cache_size(t, HWLOC_OBJ_L2CACHE) >> 10,
		 cache_size(t, HWLOC_OBJ_L3CACHE) >> 10);
}
