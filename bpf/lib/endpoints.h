/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The workloads of this node by host-side interface: the `endpoints` map (ifindex ->
 * MAC of the container side, flags, identity). Filled from WorkloadEndpointUpdate.
 */
#ifndef TABBY_BPF_ENDPOINTS_H
#define TABBY_BPF_ENDPOINTS_H

#include "common.h"

enum endpoint_flags {
	EP_F_MAC_KNOWN = 1 << 0, /* `mac` is the container's; else delivery resolves it (bpf_redirect_neigh) */
};

struct endpoint_value {
	__u8 mac[6];     /* container side MAC: the destination MAC of packets delivered to it */
	__u16 flags;     /* enum endpoint_flags */
	__u32 identity;  /* policy identity (placeholder until the policy work: 0) */
};

#ifndef ENDPOINTS_MAX_ENTRIES
#define ENDPOINTS_MAX_ENTRIES 4096
#endif

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENDPOINTS_MAX_ENTRIES);
	__type(key, __u32); /* host-side ifindex */
	__type(value, struct endpoint_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

static __always_inline struct endpoint_value *endpoint_lookup(__u32 ifindex)
{
	return bpf_map_lookup_elem(&endpoints, &ifindex);
}

#endif /* TABBY_BPF_ENDPOINTS_H */
