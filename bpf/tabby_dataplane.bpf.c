// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tabby BPF dataplane: four tc programs, one per hook.
 *
 *   from_workload  tc ingress of each workload's host-side veth (packets the pod sends)
 *   to_workload    tc egress of the same veth (packets going into the pod)
 *   from_uplink    tc ingress of the node's uplink (IPIP decap, delivery to pods)
 *   to_uplink      tc egress of the uplink (this node's own packets to pods behind IPIP
 *                  routes get encapsulated; the rest is the kernel's)
 *
 * Each program parses, tracks (conntrack first, policy for new flows only), routes, and
 * returns through one exit that counts the outcome and turns a drop reason into
 * TC_ACT_SHOT. The logic lives in lib/, one header per concern.
 */
#include "lib/common.h"
#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/flow.h"
#include "lib/routes.h"
#include "lib/endpoints.h"
#include "lib/conntrack.h"
#include "lib/policy.h"
#include "lib/ipip.h"
#include "lib/forward.h"
#include "lib/verdicts.h"

#define NOT_IPV4 1

/* Parses Ethernet, IPv4 and L4 into *f: 0, NOT_IPV4, or a drop reason. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct flow *f)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret = parse_eth(skb, &eth);

	if (ret < 0)
		return ret;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return NOT_IPV4;
	ret = parse_ipv4(skb, &ip);
	if (ret < 0)
		return ret;
	return parse_flow(skb, f);
}

/* Conntrack, then policy for a new flow: 0 or DROP_POLICY. */
static __always_inline int track(struct __sk_buff *skb, const struct flow *f, enum policy_hook hook)
{
	if (!f->tracked)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (ct_track(f, now) != CT_NEW)
		return 0;
	if (policy_check_new(skb, f, hook) != POLICY_ALLOW)
		return DROP_POLICY;
	ct_create(f, now);
	verdicts_count(STAT_CT_NEW, skb->len);
	return 0;
}

/* What both workload hooks do first: parse, then conntrack (and policy for a new flow).
 * 0, NOT_IPV4 (not ours: pass it to the kernel), or a drop reason. */
static __always_inline int parse_and_track(struct __sk_buff *skb, struct flow *f, enum policy_hook hook)
{
	int ret = parse_packet(skb, f);

	if (ret < 0 || ret == NOT_IPV4)
		return ret;
	return track(skb, f, hook);
}

/* The single exit: count the outcome; a drop reason becomes TC_ACT_SHOT. */
static __always_inline int finish(int ret, __u32 stat, __u32 len)
{
	verdicts_account(ret, stat, len);
	return is_drop(ret) ? TC_ACT_SHOT : ret;
}

static __always_inline int handle_from_workload(struct __sk_buff *skb, __u32 *stat)
{
	struct flow f;
	int ret = parse_and_track(skb, &f, HOOK_FROM_WORKLOAD);

	*stat = STAT_PASS;
	if (ret < 0)
		return ret;
	if (ret == NOT_IPV4)
		return TC_ACT_OK;
	return forward_ipv4(skb, &f, stat);
}

static __always_inline int handle_to_workload(struct __sk_buff *skb, __u32 *stat)
{
	struct flow f;
	int ret = parse_and_track(skb, &f, HOOK_TO_WORKLOAD);

	*stat = STAT_PASS;
	if (ret < 0)
		return ret;
	if (ret == NOT_IPV4)
		return TC_ACT_OK;
	*stat = STAT_DELIVERED;
	return TC_ACT_OK;
}

static __always_inline int handle_from_uplink(struct __sk_buff *skb, __u32 *stat)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	struct flow f;
	int decapped = 0;
	int ret = parse_eth(skb, &eth);

	*stat = STAT_PASS;
	if (ret < 0)
		return ret;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ret = parse_ipv4(skb, &ip);
	if (ret < 0)
		return ret;
	if (ip->protocol == IPPROTO_IPIP && node_ipv4 != 0 && ip->daddr == node_ipv4) {
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return DROP_IPIP_FRAGMENT;
		if (!route_is_host(ip->saddr))
			return DROP_IPIP_SOURCE;
		ret = ipip_decap(skb);
		if (ret < 0)
			return ret;
		verdicts_count(STAT_DECAP, skb->len);
		decapped = 1;
		ret = parse_ipv4(skb, &ip);
		if (ret < 0)
			return ret;
	}
	ret = parse_flow(skb, &f);
	if (ret < 0)
		return ret;

	/* Ours to deliver: our workloads, and (after decap) whatever the routes say. */
	struct route_value *r = route_lookup(f.daddr);
	if (!r)
		return TC_ACT_OK;
	if (!decapped && r->type != ROUTE_LOCAL_WORKLOAD && r->type != ROUTE_BLACKHOLE)
		return TC_ACT_OK;
	ret = track(skb, &f, HOOK_FROM_UPLINK);
	if (ret < 0)
		return ret;
	return forward_ipv4(skb, &f, stat);
}

SEC("tc")
int from_workload(struct __sk_buff *skb)
{
	__u32 len = skb->len, stat = STAT_PASS;
	int ret = handle_from_workload(skb, &stat);

	return finish(ret, stat, len);
}

SEC("tc")
int to_workload(struct __sk_buff *skb)
{
	__u32 len = skb->len, stat = STAT_PASS;
	int ret = handle_to_workload(skb, &stat);

	return finish(ret, stat, len);
}

SEC("tc")
int from_uplink(struct __sk_buff *skb)
{
	__u32 len = skb->len, stat = STAT_PASS;
	int ret = handle_from_uplink(skb, &stat);

	return finish(ret, stat, len);
}

/*
 * Packets the node itself sends (source = node_ipv4) to a pod behind an IPIP route: the
 * kernel has no route for remote blocks in bpf mode, so it sends them by its default
 * route; here they are encapsulated and sent to the right node. Not forwarded, so the TTL
 * stays. Pods' packets never match (their source is the pod), and the encapsulated
 * packet coming through this hook again is IPIP: no loop.
 */
static __always_inline int handle_to_uplink(struct __sk_buff *skb, __u32 *stat)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret = parse_eth(skb, &eth);

	*stat = STAT_UPLINK_OUT;
	if (ret < 0)
		return ret;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ret = parse_ipv4(skb, &ip);
	if (ret < 0)
		return ret;
	if (node_ipv4 == 0 || ip->saddr != node_ipv4 || ip->protocol == IPPROTO_IPIP)
		return TC_ACT_OK;
	struct route_value *r = route_lookup(ip->daddr);
	if (!r || r->type != ROUTE_REMOTE || !(r->flags & ROUTE_F_IPIP))
		return TC_ACT_OK;
	__be32 next_hop = r->next_hop;
	ret = ipip_encap(skb, node_ipv4, next_hop);
	if (ret < 0)
		return ret;
	*stat = STAT_HOST_IPIP;
	struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = next_hop };
	return bpf_redirect_neigh(skb->ifindex, &nh, sizeof(nh), 0);
}

SEC("tc")
int to_uplink(struct __sk_buff *skb)
{
	__u32 len = skb->len, stat = STAT_UPLINK_OUT;
	int ret = handle_to_uplink(skb, &stat);

	return finish(ret, stat, len);
}

/* A program that does nothing, for the mode probe's tc attach test (src/dataplane/bpf/probe.ts). */
SEC("tc")
int tabby_probe(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
