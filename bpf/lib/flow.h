/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow a packet belongs to: its 5-tuple and TCP flags, read from the L4 header after
 * parse_ipv4(). TCP, UDP and ICMP echo have a tuple; other protocols, ICMP errors and
 * non-first fragments are routed but not tracked (flow->tracked == 0).
 */
#ifndef TABBY_BPF_FLOW_H
#define TABBY_BPF_FLOW_H

#include <linux/tcp.h>
#include <linux/udp.h>

#include "common.h"
#include "drop.h"
#include "parse.h"

/* TCP flags as one byte (th->flags order: FIN=1, SYN=2, RST=4, PSH=8, ACK=16). */
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

/* linux/icmp.h drags in libc's socket headers, which a BPF build cannot use. */
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

struct icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

struct flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* ICMP echo: the identifier (both ports), so replies match requests */
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 tracked; /* 1 when conntrack should see this packet */
	__u8 icmp_reply; /* ICMP echo reply: the reverse direction by definition */
};

/* Makes the L4 header (`len` bytes at `off`) readable; DROP_L4_TRUNCATED when the packet has fewer. */
static __always_inline int l4_reachable(struct __sk_buff *skb, __u32 off, __u32 len, __u32 ip_end)
{
	if (off + len > ip_end)
		return DROP_L4_TRUNCATED;
	if (ensure_linear(skb, off + len) < 0)
		return DROP_L4_TRUNCATED;
	return 0;
}

/*
 * Fills `f` from the packet whose IPv4 header parse_ipv4() just checked. Returns 0 or
 * DROP_L4_TRUNCATED (a TCP/UDP/ICMP header that the IPv4 total length cuts off). May pull
 * data in, so packet pointers the caller held are stale afterwards.
 */
static __always_inline int parse_flow(struct __sk_buff *skb, struct flow *f)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > data_end)
		return DROP_IP_TRUNCATED;
	__u32 l4 = sizeof(struct ethhdr) + (__u32)ip->ihl * 4;
	__u32 ip_end = sizeof(struct ethhdr) + (__u32)bpf_ntohs(ip->tot_len);
	__u16 frag = bpf_ntohs(ip->frag_off);

	__builtin_memset(f, 0, sizeof(*f));
	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	if (frag & IP_OFFSET)
		return 0; /* a later fragment: no L4 header to read */
	if (l4 > 60 + sizeof(struct ethhdr))
		return DROP_IP_HEADER;

	int ret;
	switch (f->proto) {
	case IPPROTO_TCP: {
		ret = l4_reachable(skb, l4, sizeof(struct tcphdr), ip_end);
		if (ret < 0)
			return ret;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		struct tcphdr *th = data + l4;
		if ((void *)(th + 1) > data_end)
			return DROP_L4_TRUNCATED;
		if (th->doff < 5)
			return DROP_L4_TRUNCATED;
		f->sport = th->source;
		f->dport = th->dest;
		f->tcp_flags = ((__u8 *)th)[13];
		f->tracked = !(frag & IP_MF);
		return 0;
	}
	case IPPROTO_UDP: {
		ret = l4_reachable(skb, l4, sizeof(struct udphdr), ip_end);
		if (ret < 0)
			return ret;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		struct udphdr *uh = data + l4;
		if ((void *)(uh + 1) > data_end)
			return DROP_L4_TRUNCATED;
		f->sport = uh->source;
		f->dport = uh->dest;
		f->tracked = !(frag & IP_MF);
		return 0;
	}
	case IPPROTO_ICMP: {
		ret = l4_reachable(skb, l4, 8, ip_end);
		if (ret < 0)
			return ret;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		struct icmp_echo_hdr *ih = data + l4;
		if ((void *)(ih + 1) > data_end)
			return DROP_L4_TRUNCATED;
		if (ih->type == ICMP_ECHO || ih->type == ICMP_ECHOREPLY) {
			f->sport = ih->id;
			f->dport = ih->id;
			f->icmp_reply = ih->type == ICMP_ECHOREPLY;
			f->tracked = !(frag & IP_MF);
		}
		return 0;
	}
	default:
		return 0;
	}
}

#endif /* TABBY_BPF_FLOW_H */
