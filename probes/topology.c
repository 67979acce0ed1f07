#include "topology.h"

#include <errno.h>
#include <hwloc.h>
#include <stdio.h>

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
