/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPIP (IPv4 in IPv4, protocol 4) done in BPF, so no kernel tunl0 (ipip module) is needed:
 * encapsulation grows room after the Ethernet header with bpf_skb_adjust_room and writes
 * the outer header; decapsulation removes it again. Both expect an Ethernet frame whose
 * IPv4 header parse_ipv4() has already checked.
 */
#ifndef TABBY_BPF_IPIP_H
#define TABBY_BPF_IPIP_H

#include "common.h"
#include "drop.h"
#include "parse.h"

#define IPIP_OUTER_TTL 64
#define IP_DF 0x4000

/* The Internet checksum of a 20-byte IPv4 header (whose check field is zero). */
static __always_inline __u16 ipv4_header_csum(const struct iphdr *h)
{
	const __u16 *w = (const __u16 *)h;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * Puts the packet inside an outer IPv4 header from `src` to `dst` (protocol 4, TTL 64,
 * TOS and DF copied from the inner header; the identification copied when DF is set,
 * random otherwise, since then the outer packet may be fragmented). The Ethernet header
 * stays in front; the caller redirects with bpf_redirect_neigh, which rewrites it.
 */
static __always_inline int ipip_encap(struct __sk_buff *skb, __be32 src, __be32 dst)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *inner = data + sizeof(struct ethhdr);
	struct iphdr outer = {};

	if ((void *)(inner + 1) > data_end)
		return DROP_ENCAP_FAILED;
	__u16 inner_len = bpf_ntohs(inner->tot_len);
	if (inner_len > 0xffff - sizeof(struct iphdr))
		return DROP_ENCAP_FAILED;
	outer.version = 4;
	outer.ihl = 5;
	outer.tos = inner->tos;
	outer.tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
	outer.frag_off = inner->frag_off & bpf_htons(IP_DF);
	outer.id = outer.frag_off ? inner->id : (__be16)bpf_get_prandom_u32();
	outer.ttl = IPIP_OUTER_TTL;
	outer.protocol = IPPROTO_IPIP;
	outer.saddr = src;
	outer.daddr = dst;
	outer.check = ipv4_header_csum(&outer);

	if (bpf_skb_adjust_room(skb, sizeof(struct iphdr), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4) < 0)
		return DROP_ENCAP_FAILED;
	if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &outer, sizeof(outer), 0) < 0)
		return DROP_ENCAP_FAILED;
	return 0;
}

/*
 * Removes the outer header of an IPIP packet (outer IHL must be 5, the inner must start
 * with a plausible IPv4 header). Afterwards the inner packet follows the Ethernet header;
 * the caller parses it again like any other packet.
 */
static __always_inline int ipip_decap(struct __sk_buff *skb)
{
	__u32 need = sizeof(struct ethhdr) + 2 * sizeof(struct iphdr);

	if (ensure_linear(skb, need) < 0)
		return DROP_DECAP_FAILED;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *outer = data + sizeof(struct ethhdr);
	struct iphdr *inner = (void *)(outer + 1);
	if ((void *)(inner + 1) > data_end)
		return DROP_DECAP_FAILED;
	if (outer->ihl != 5 || inner->version != 4 || inner->ihl < 5)
		return DROP_DECAP_FAILED;
	if (bpf_skb_adjust_room(skb, -(__s32)sizeof(struct iphdr), BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_DECAP_L3_IPV4) < 0)
		return DROP_DECAP_FAILED;
	return 0;
}

#endif /* TABBY_BPF_IPIP_H */
