/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drop reasons. Handlers return TC_ACT_OK (0) or a negative DROP_* reason; the entry
 * program funnels every return through one exit that counts the reason and turns it
 * into TC_ACT_SHOT (cilium's drop_reasons.h pattern). Never reuse a number: the
 * TypeScript side and dumps read them.
 */
#ifndef TABBY_BPF_DROP_H
#define TABBY_BPF_DROP_H

enum tabby_drop_reason {
	DROP_MALFORMED = -1,     /* a header is shorter than it says or than its protocol needs */
	DROP_PROTO_BLOCKED = -2, /* IPv4 protocol matched the drop_ipv4_proto load-time knob */
	DROP_IP_HEADER = -3,     /* IPv4 version is not 4, IHL below 5, or total length below the header */
	DROP_IP_TRUNCATED = -4,  /* the packet is shorter than its IPv4 header or total length say */
	DROP_L4_TRUNCATED = -5,  /* the TCP/UDP/ICMP header does not fit in the IPv4 payload */
	DROP_BLACKHOLE = -6,     /* the destination is in a blackhole route (a local block, no such workload) */
	DROP_ENCAP_FAILED = -7,  /* bpf_skb_adjust_room or the outer header write failed */
	DROP_DECAP_FAILED = -8,  /* IPIP to this node whose inner packet could not be taken out */
	DROP_IPIP_SOURCE = -9,   /* IPIP to this node from an address that is not a known node */
	DROP_IPIP_FRAGMENT = -10, /* fragmented IPIP to this node (there is no kernel ipip to reassemble for) */
	DROP_POLICY = -11,       /* policy denied a new flow */
	DROP_REWRITE_FAILED = -12, /* a header rewrite (TTL, MACs) could not be written */
	DROP_REASON_MAX = 12,    /* |most negative reason|; the verdicts map has room for all */
};

static __always_inline int is_drop(int ret)
{
	return ret < 0;
}

/* The reasons that mean "this packet's headers are broken" (counted as malformed). */
static __always_inline int is_malformed(int ret)
{
	return ret == DROP_MALFORMED || ret == DROP_IP_HEADER || ret == DROP_IP_TRUNCATED || ret == DROP_L4_TRUNCATED;
}

#endif /* TABBY_BPF_DROP_H */
