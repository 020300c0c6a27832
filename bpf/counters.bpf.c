// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * counters: tc ingress/egress programs that count every packet per interface and
 * direction, and drop IPv4 packets of one protocol when told to at load time.
 * The logic lives in lib/; this file only wires the hooks to it.
 */
#include "lib/common.h"
#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/counters.h"

/* Load-time knob: 0 drops nothing; otherwise IPv4 packets of this protocol are dropped. */
const volatile __u8 drop_ipv4_proto = 0;

/* TC_ACT_OK, or a negative drop reason. */
static __always_inline int classify(struct __sk_buff *skb)
{
	struct ethhdr *eth;
	struct iphdr *ip;
	int ret;

	ret = parse_eth(skb, &eth);
	if (ret < 0)
		return ret;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ret = parse_ipv4(skb, &ip);
	if (ret < 0)
		return ret;
	if (drop_ipv4_proto && ip->protocol == drop_ipv4_proto)
		return DROP_PROTO_BLOCKED;
	return TC_ACT_OK;
}

/* The single exit: count, then turn a drop reason into TC_ACT_SHOT. */
static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	__u32 len = skb->len;
	int ret = classify(skb);

	counters_account(skb->ifindex, dir, len, ret);
	return is_drop(ret) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int count_ingress(struct __sk_buff *skb)
{
	return handle(skb, DIR_INGRESS);
}

SEC("tc")
int count_egress(struct __sk_buff *skb)
{
	return handle(skb, DIR_EGRESS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
