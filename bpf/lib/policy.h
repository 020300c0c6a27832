/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy hook. Conntrack comes first; only the first packet of a NEW flow gets here,
 * replies and later packets of an allowed flow never do. Today every flow is allowed:
 * this is the one place the policy work fills in (look up the endpoint's identity in
 * `endpoints`, the remote side's in `ipcache`, then the LPM `policy` map, and return
 * POLICY_DENY to have the caller drop with DROP_POLICY).
 */
#ifndef TABBY_BPF_POLICY_H
#define TABBY_BPF_POLICY_H

#include "common.h"
#include "flow.h"

enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_DENY = 1,
};

/* Where the new flow was seen (which endpoint's policy applies, and in which direction). */
enum policy_hook {
	HOOK_FROM_WORKLOAD = 0, /* egress policy of the workload on skb->ifindex */
	HOOK_TO_WORKLOAD = 1,   /* ingress policy of the workload on skb->ifindex */
	HOOK_FROM_UPLINK = 2,   /* arriving from another node (after decap) */
};

static __always_inline int policy_check_new(struct __sk_buff *skb, const struct flow *f, enum policy_hook hook)
{
	(void)skb;
	(void)f;
	(void)hook;
	return POLICY_ALLOW;
}

#endif /* TABBY_BPF_POLICY_H */
