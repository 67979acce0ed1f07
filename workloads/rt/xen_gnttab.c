/*
 * Grant table v1 of the guest (xen_io.h): how the frontends let dom0's
 * backends map our pages.  Each grant is an 8-byte entry in frames Xen
 * shares with us; the table's location differs by guest type:
 *
 *   PVH (auto-translated): XENMEM_add_to_physmap puts grant frame k at
 *     the gfn of image page k (which Xen takes back), so it is ordinary
 *     mapped memory for the runtime's page tables.  A grant names a gfn.
 *   PV: GNTTABOP_setup_table returns the frames' machine numbers; each is
 *     mapped over image page k with update_va_mapping (our page tables are
 *     Xen-validated, so not written directly).  A grant names an mfn.
 *
 * Frames are added as the refs run out, up to GNT_FRAMES_MAX.  Grants are
 * never revoked: blkfront grants a buffer once and reuses it (a backend
 * with persistent grants keeps them mapped until the device closes).
 */
#include "pv.h"
#include "rt.h"
#include "workload.h"
#include "xen.h"
#include "xen_io.h"

#define RT_EINVAL 22
#define RT_ENOSPC 28
#define RT_EIO 5

static uint8_t frames[GNT_FRAMES_MAX][4096] __attribute__((aligned(4096)));
static unsigned nframes;
static uint32_t next_ref = GNT_RESERVED;

uint64_t xen_frame_of(const void *va)
{
	return rt_pv() ? rt_pv_mfn((uintptr_t)va / 4096) : (uintptr_t)va / 4096;
}

/* PVH: grant frame idx at the gfn of image page idx. */
static long add_frame_pvh(unsigned idx)
{
	struct {
		uint16_t domid, size;
		uint32_t space;
		uint64_t idx, gpfn;
	} xatp = {XEN_DOMID_SELF, 0, XENMAPSPACE_GRANT_TABLE, idx, (uintptr_t)frames[idx] / 4096};

	return rt_xen_hypercall(XEN_HC_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, (uintptr_t)&xatp);
}

/* PV: grow the table to idx + 1 frames and map the new one over image
 * page idx (read-write, user-accessible like the rest of our memory). */
static long add_frame_pv(unsigned idx)
{
	static uint64_t mfns[GNT_FRAMES_MAX];
	struct {
		uint16_t dom;
		uint16_t pad;
		uint32_t nr_frames;
		int16_t status;
		uint16_t pad2[3];
		uint64_t frame_list;
	} st = {XEN_DOMID_SELF, 0, idx + 1, 0, {0}, (uintptr_t)mfns};
	long rc = rt_xen_hypercall4(XEN_HC_GRANT_TABLE_OP, GNTTABOP_SETUP_TABLE, (uintptr_t)&st, 1,
				    0);

	if (rc || st.status)
		return rc ? rc : st.status;
	return rt_xen_hypercall4(PV_HC_UPDATE_VA_MAPPING, (uintptr_t)frames[idx],
				 pv_pte(mfns[idx], PV_PTE_RAM), PV_UVMF_INVLPG, 0);
}

static int add_frame(void)
{
	long rc;

	if (nframes == GNT_FRAMES_MAX)
		return -RT_ENOSPC;
	rc = rt_pv() ? add_frame_pv(nframes) : add_frame_pvh(nframes);
	if (rc)
		return rc < 0 ? (int)rc : -RT_EIO;
	nframes++;
	return 0;
}

int xen_gnttab_init(const char **why)
{
	int e;

	if (nframes)
		return 0;
	e = add_frame();
	if (e)
		*why = rt_pv() ? "Xen PV: GNTTABOP_setup_table or mapping its frame failed"
			       : "Xen PVH: XENMEM_add_to_physmap(grant table) failed";
	return e;
}

int xen_gnttab_grant(uint16_t domid, const void *va, unsigned pages, bool readonly,
		     uint32_t *first_ref)
{
	struct gnttab_entry_v1 *t = (struct gnttab_entry_v1 *)frames;

	if (!pages || ((uintptr_t)va & 4095) || !nframes)
		return -RT_EINVAL;
	while (next_ref + pages > nframes * GNT_PER_FRAME) {
		int e = add_frame();

		if (e)
			return e == -RT_ENOSPC ? e : -RT_ENOSPC;
	}
	*first_ref = next_ref;
	for (unsigned i = 0; i < pages; i++) {
		struct gnttab_entry_v1 *g = &t[next_ref + i];

		g->domid = domid;
		g->frame = (uint32_t)xen_frame_of((const uint8_t *)va + i * 4096ull);
		rt_barrier(); /* domid and frame before the flags that validate them */
		g->flags = GTF_PERMIT_ACCESS | (readonly ? GTF_READONLY : 0);
	}
	next_ref += pages;
	return 0;
}

unsigned xen_gnttab_used(void)
{
	return next_ref - GNT_RESERVED;
}
