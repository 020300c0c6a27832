/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: bounds-checked access to the Ethernet and IPv4 headers of an skb.
 * Each parser returns 0 or a malformed-packet reason (is_malformed() in drop.h: which
 * header was wrong) and never reads past data_end. When a header
 * is in the skb but not in its linear part, it is pulled in first.
 */
#ifndef TABBY_BPF_PARSE_H
#define TABBY_BPF_PARSE_H

#include "common.h"
#include "drop.h"

/* Makes the first `len` bytes of the packet directly readable; 0 when they are. */
static __always_inline int ensure_linear(struct __sk_buff *skb, __u32 len)
{
	if ((void *)(long)skb->data + len <= (void *)(long)skb->data_end)
		return 0;
	if (skb->len < len)
		return DROP_MALFORMED;
	if (bpf_skb_pull_data(skb, len) < 0)
		return DROP_MALFORMED;
	if ((void *)(long)skb->data + len > (void *)(long)skb->data_end)
		return DROP_MALFORMED;
	return 0;
}

/* The Ethernet header; *eth is valid when 0 is returned. */
static __always_inline int parse_eth(struct __sk_buff *skb, struct ethhdr **eth)
{
	int ret = ensure_linear(skb, sizeof(struct ethhdr));

	if (ret < 0)
		return ret;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (data + sizeof(struct ethhdr) > data_end)
		return DROP_MALFORMED;
	*eth = data;
	return 0;
}

/*
 * The IPv4 header right after Ethernet; *ip is valid when 0 is returned. Rejects a header
 * shorter than 20 bytes, a version other than 4, an IHL below 5, a total length smaller
 * than the header, and a packet shorter than its header or total length say (truncated).
 * Ethernet padding (skb longer than the total length) is fine.
 */
static __always_inline int parse_ipv4(struct __sk_buff *skb, struct iphdr **ip)
{
	int ret = ensure_linear(skb, sizeof(struct ethhdr) + sizeof(struct iphdr));

	if (ret < 0)
		return DROP_IP_TRUNCATED;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = data + sizeof(struct ethhdr);
	if ((void *)(iph + 1) > data_end)
		return DROP_IP_TRUNCATED;
	if (iph->version != 4 || iph->ihl < 5)
		return DROP_IP_HEADER;
	if (bpf_ntohs(iph->tot_len) < (__u16)(iph->ihl * 4))
		return DROP_IP_HEADER;
	if (skb->len < sizeof(struct ethhdr) + (__u32)iph->ihl * 4)
		return DROP_IP_TRUNCATED;
	if (skb->len < sizeof(struct ethhdr) + (__u32)bpf_ntohs(iph->tot_len))
		return DROP_IP_TRUNCATED;
	*ip = iph;
	return 0;
}

#endif /* TABBY_BPF_PARSE_H */
