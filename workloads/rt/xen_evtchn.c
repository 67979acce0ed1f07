/*
 * Event channels of the guest's split drivers (xen_io.h): a port left
 * unbound for a backend domain to bind, and EVTCHNOP_send to notify it.
 * Events stay masked and their upcall is never taken (PVH sets no
 * callback, PV masks events in vcpu_info): the frontends poll their rings,
 * so only the backend's side of a channel matters.
 */
#include "xen.h"
#include "xen_io.h"

int xen_evtchn_alloc_unbound(uint16_t remote, uint32_t *port)
{
	struct {
		uint16_t dom, remote_dom;
		uint32_t port;
	} op = {XEN_DOMID_SELF, remote, 0};
	long rc = rt_xen_hypercall(XEN_HC_EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND, (uintptr_t)&op);

	if (rc)
		return (int)rc;
	*port = op.port;
	return 0;
}

void xen_evtchn_send(uint32_t port)
{
	struct {
		uint32_t port;
	} send = {port};

	rt_xen_hypercall(XEN_HC_EVENT_CHANNEL_OP, EVTCHNOP_SEND, (uintptr_t)&send);
}
