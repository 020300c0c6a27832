/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the dataplane programs did, counted: the `verdicts` per-CPU array, one slot per
 * outcome (pass, redirect, encap, ...) and one per drop reason. Programs record their
 * outcome in one place, the entry's single exit (verdicts_account). The TypeScript names
 * of the slots are in src/dataplane/bpf/codecs/verdicts.ts; never renumber.
 */
#ifndef TABBY_BPF_VERDICTS_H
#define TABBY_BPF_VERDICTS_H

#include "common.h"
#include "drop.h"

enum verdict_stat {
	STAT_PASS = 0,            /* left to the kernel: not IPv4, or a destination the maps do not know */
	STAT_PASS_HOST = 1,       /* destination is a node address */
	STAT_PASS_TTL = 2,        /* TTL would expire: the kernel answers with ICMP */
	STAT_REDIRECT_LOCAL = 3,  /* delivered to a workload of this node */
	STAT_REDIRECT_REMOTE = 4, /* sent to another node, unencapsulated */
	STAT_REDIRECT_IPIP = 5,   /* sent to another node in IPIP */
	STAT_DECAP = 6,           /* IPIP to this node, decapsulated */
	STAT_CT_NEW = 7,          /* a packet that started a conntrack entry (policy was asked) */
	STAT_UPLINK_OUT = 8,      /* to_uplink: the kernel's packet, passed */
	STAT_DELIVERED = 9,       /* to_workload: passed into the workload */
	STAT_HOST_IPIP = 10,      /* to_uplink: this node's own packet to a remote pod, sent in IPIP */
	STAT_DROP_BASE = 32,      /* slot of drop reason r is STAT_DROP_BASE - r */
	STAT_SLOTS = 64,
};

struct verdict_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_SLOTS);
	__type(key, __u32);
	__type(value, struct verdict_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdicts SEC(".maps");

static __always_inline void verdicts_count(__u32 slot, __u32 len)
{
	struct verdict_count *c;

	if (slot >= STAT_SLOTS)
		return;
	c = bpf_map_lookup_elem(&verdicts, &slot);
	if (!c)
		return;
	c->packets += 1;
	c->bytes += len;
}

/* Counts a program's outcome: `ret` a negative drop reason, or else the `stat` it recorded. */
static __always_inline void verdicts_account(int ret, __u32 stat, __u32 len)
{
	if (is_drop(ret))
		verdicts_count(STAT_DROP_BASE + (__u32)(-ret), len);
	else
		verdicts_count(stat, len);
}

#endif /* TABBY_BPF_VERDICTS_H */
