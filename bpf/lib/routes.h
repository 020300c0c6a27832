/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where a destination lives: the `routes` LPM map (prefix -> route) and its lookup.
 * The agent fills it from RouteUpdate messages (src/dataplane/bpf/routes-map-manager.ts);
 * codecs in src/dataplane/bpf/codecs/routes.ts, checked against BTF by a test.
 */
#ifndef TABBY_BPF_ROUTES_H
#define TABBY_BPF_ROUTES_H

#include "common.h"

enum route_type {
	ROUTE_LOCAL_WORKLOAD = 1, /* a workload on this node: deliver on `ifindex` */
	ROUTE_REMOTE = 2,         /* behind another node: send to `next_hop` (IPIP when flagged) */
	ROUTE_HOST = 3,           /* a node's own address: the kernel's business */
	ROUTE_BLACKHOLE = 4,      /* a block of this node without such a workload: drop */
};

enum route_flags {
	ROUTE_F_IPIP = 1 << 0,       /* encapsulate in IPIP towards next_hop */
	ROUTE_F_THIS_NODE = 1 << 1,  /* ROUTE_HOST: this node's own address */
};

struct route_key {
	__u32 prefixlen; /* LPM: bits of addr that count */
	__be32 addr;
};

struct route_value {
	__u32 type;     /* enum route_type */
	__u32 flags;    /* enum route_flags */
	__u32 ifindex;  /* ROUTE_LOCAL_WORKLOAD */
	__be32 next_hop; /* ROUTE_REMOTE: the other node's address */
};

#ifndef ROUTES_MAX_ENTRIES
#define ROUTES_MAX_ENTRIES 262144
#endif

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ROUTES_MAX_ENTRIES);
	__type(key, struct route_key);
	__type(value, struct route_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} routes SEC(".maps");

/* The most specific route for `addr`, or NULL. */
static __always_inline struct route_value *route_lookup(__be32 addr)
{
	struct route_key key = { .prefixlen = 32, .addr = addr };

	return bpf_map_lookup_elem(&routes, &key);
}

/* Whether `addr` is the address of a node we know (IPIP is only accepted from those). */
static __always_inline int route_is_host(__be32 addr)
{
	struct route_value *r = route_lookup(addr);

	return r && r->type == ROUTE_HOST;
}

#endif /* TABBY_BPF_ROUTES_H */
