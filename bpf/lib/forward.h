/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forwarding: what a routed packet needs before it leaves on another interface (TTL,
 * MACs) and the route step itself: local workload -> bpf_redirect to its interface,
 * remote node -> (IPIP) -> bpf_redirect_neigh on the uplink, host -> the kernel,
 * blackhole -> drop, unknown -> the kernel, untouched.
 */
#ifndef TABBY_BPF_FORWARD_H
#define TABBY_BPF_FORWARD_H

#include "common.h"
#include "drop.h"
#include "endpoints.h"
#include "flow.h"
#include "ipip.h"
#include "routes.h"
#include "verdicts.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* The host side of every workload veth has this MAC (Calico's convention). */
static const __u8 host_veth_mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };

/* Load-time settings, set by the agent (src/dataplane/bpf/loader.ts). */
const volatile __be32 node_ipv4 = 0;     /* this node's address: IPIP source, decap destination */
const volatile __u32 uplink_ifindex = 0; /* where packets to other nodes leave; 0: leave them to the kernel */

/*
 * Decrements the TTL as a router must (incremental checksum update, RFC 1624). Returns 1
 * when the TTL would expire: the caller leaves the packet to the kernel, which answers
 * with ICMP time exceeded.
 */
static __always_inline int ipv4_dec_ttl(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > data_end)
		return DROP_REWRITE_FAILED;
	if (ip->ttl <= 1)
		return 1;
	__u32 check = ip->check;
	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xffff));
	ip->ttl -= 1;
	return 0;
}

/* Hands the packet to the workload behind host-side interface `ifindex`. */
static __always_inline int deliver_local(struct __sk_buff *skb, __u32 ifindex, __be32 daddr)
{
	struct endpoint_value *ep = endpoint_lookup(ifindex);

	if (ep && (ep->flags & EP_F_MAC_KNOWN)) {
		void *data = (void *)(long)skb->data;
		void *data_end = (void *)(long)skb->data_end;
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > data_end)
			return DROP_REWRITE_FAILED;
		__builtin_memcpy(eth->h_dest, ep->mac, 6);
		__builtin_memcpy(eth->h_source, host_veth_mac, 6);
		return bpf_redirect(ifindex, 0);
	}
	/* MAC unknown: let the kernel resolve the workload's address on its interface. */
	struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = daddr };
	return bpf_redirect_neigh(ifindex, &nh, sizeof(nh), 0);
}

/*
 * The route step for an IPv4 packet of flow `f` (headers already checked). Returns a tc
 * verdict or a drop reason, and sets *stat to the outcome's counter slot.
 */
static __always_inline int forward_ipv4(struct __sk_buff *skb, const struct flow *f, __u32 *stat)
{
	struct route_value *r = route_lookup(f->daddr);
	int ret;

	*stat = STAT_PASS;
	if (!r)
		return TC_ACT_OK;
	__u32 type = r->type, flags = r->flags, ifindex = r->ifindex;
	__be32 next_hop = r->next_hop;

	switch (type) {
	case ROUTE_BLACKHOLE:
		return DROP_BLACKHOLE;
	case ROUTE_LOCAL_WORKLOAD:
		ret = ipv4_dec_ttl(skb);
		if (ret < 0)
			return ret;
		if (ret > 0) {
			*stat = STAT_PASS_TTL;
			return TC_ACT_OK;
		}
		*stat = STAT_REDIRECT_LOCAL;
		return deliver_local(skb, ifindex, f->daddr);
	case ROUTE_REMOTE: {
		if (uplink_ifindex == 0)
			return TC_ACT_OK;
		ret = ipv4_dec_ttl(skb);
		if (ret < 0)
			return ret;
		if (ret > 0) {
			*stat = STAT_PASS_TTL;
			return TC_ACT_OK;
		}
		if (flags & ROUTE_F_IPIP) {
			ret = ipip_encap(skb, node_ipv4, next_hop);
			if (ret < 0)
				return ret;
			*stat = STAT_REDIRECT_IPIP;
		} else {
			*stat = STAT_REDIRECT_REMOTE;
		}
		struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = next_hop };
		return bpf_redirect_neigh(uplink_ifindex, &nh, sizeof(nh), 0);
	}
	case ROUTE_HOST:
		*stat = STAT_PASS_HOST;
		return TC_ACT_OK;
	default:
		return TC_ACT_OK;
	}
}

#endif /* TABBY_BPF_FORWARD_H */
