/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking: the `ct` LRU hash of flows, keyed by the 5-tuple normalised so
 * both directions find the same entry, with the TCP state machine and the last time a
 * packet was seen. Entries expire by the agent's garbage collector
 * (src/dataplane/bpf/conntrack-gc.ts), which owns the timeouts; the program only moves
 * states. Every program that tracks a packet calls ct_track(); a packet that finds no
 * entry (or restarts a closed one) is a NEW flow: the caller asks policy, then ct_create().
 */
#ifndef TABBY_BPF_CONNTRACK_H
#define TABBY_BPF_CONNTRACK_H

#include "common.h"
#include "flow.h"

enum ct_state {
	CT_SYN_SENT = 1,    /* TCP: the initiator's SYN */
	CT_SYN_RECV = 2,    /* TCP: the responder's SYN-ACK */
	CT_ESTABLISHED = 3, /* TCP: the initiator's ACK of the SYN-ACK (or a flow picked up mid-way) */
	CT_FIN_WAIT = 4,    /* TCP: one side sent FIN */
	CT_TIME_WAIT = 5,   /* TCP: both sides sent FIN */
	CT_CLOSE = 6,       /* TCP: RST seen */
	CT_UNREPLIED = 7,   /* UDP, ICMP echo: only the initiator spoke */
	CT_REPLIED = 8,     /* UDP, ICMP echo: the other side answered */
};

enum ct_flags {
	CT_F_INIT_A = 1 << 0, /* the initiator is the key's `a` side */
	CT_F_FIN_A = 1 << 1,  /* a sent FIN */
	CT_F_FIN_B = 1 << 2,  /* b sent FIN */
};

/* (addr_a, port_a) is the numerically lower endpoint (addresses compared in network order). */
struct ct_key {
	__be32 addr_a;
	__be32 addr_b;
	__be16 port_a;
	__be16 port_b;
	__u8 proto;
	__u8 _pad[3];
};

struct ct_value {
	__u64 created;   /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 last_seen; /* bpf_ktime_get_ns of the last packet */
	__u64 packets;
	__u8 state;      /* enum ct_state */
	__u8 flags;      /* enum ct_flags */
	__u8 _pad[6];
};

#ifndef CT_MAX_ENTRIES
#define CT_MAX_ENTRIES 65536
#endif

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CT_MAX_ENTRIES);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ct SEC(".maps");

enum ct_result {
	CT_NEW = 0,     /* no entry: ask policy, then ct_create() */
	CT_FORWARD = 1, /* an entry, packet from the initiator */
	CT_REPLY = 2,   /* an entry, packet from the responder */
};

/* Builds the normalised key; returns 1 when the packet's source is the `a` side. */
static __always_inline int ct_key_of(const struct flow *f, struct ct_key *k)
{
	__u32 s = bpf_ntohl(f->saddr), d = bpf_ntohl(f->daddr);
	int src_is_a = s < d || (s == d && bpf_ntohs(f->sport) <= bpf_ntohs(f->dport));

	__builtin_memset(k, 0, sizeof(*k));
	k->proto = f->proto;
	if (src_is_a) {
		k->addr_a = f->saddr;
		k->port_a = f->sport;
		k->addr_b = f->daddr;
		k->port_b = f->dport;
	} else {
		k->addr_a = f->daddr;
		k->port_a = f->dport;
		k->addr_b = f->saddr;
		k->port_b = f->sport;
	}
	return src_is_a;
}

/* The TCP state machine: the state after a packet with `flags` from the initiator (fwd) or not. */
static __always_inline void ct_tcp_advance(struct ct_value *v, __u8 flags, int fwd, int src_is_a)
{
	if (flags & TCPF_RST) {
		v->state = CT_CLOSE;
		return;
	}
	if ((flags & (TCPF_SYN | TCPF_ACK)) == (TCPF_SYN | TCPF_ACK)) {
		if (!fwd && v->state == CT_SYN_SENT)
			v->state = CT_SYN_RECV;
		return;
	}
	if (flags & TCPF_FIN) {
		v->flags |= src_is_a ? CT_F_FIN_A : CT_F_FIN_B;
		if ((v->flags & (CT_F_FIN_A | CT_F_FIN_B)) == (CT_F_FIN_A | CT_F_FIN_B))
			v->state = CT_TIME_WAIT;
		else if (v->state <= CT_ESTABLISHED)
			v->state = CT_FIN_WAIT;
		return;
	}
	if ((flags & TCPF_ACK) && fwd && v->state == CT_SYN_RECV)
		v->state = CT_ESTABLISHED;
}

/*
 * Looks the packet's flow up and moves its state. CT_NEW when there is no entry, or when
 * a fresh SYN from the initiator reuses the tuple of a flow that is closing or closed (the
 * caller then asks policy again and ct_create() replaces the entry).
 */
static __always_inline int ct_track(const struct flow *f, __u64 now)
{
	struct ct_key key;
	int src_is_a = ct_key_of(f, &key);
	struct ct_value *v = bpf_map_lookup_elem(&ct, &key);

	if (!v)
		return CT_NEW;
	int fwd = !!(v->flags & CT_F_INIT_A) == src_is_a;
	if (f->proto == IPPROTO_TCP) {
		if ((f->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN && v->state >= CT_FIN_WAIT)
			return CT_NEW;
		ct_tcp_advance(v, f->tcp_flags, fwd, src_is_a);
	} else if (!fwd) {
		v->state = CT_REPLIED;
	}
	v->last_seen = now;
	v->packets += 1;
	return fwd ? CT_FORWARD : CT_REPLY;
}

/* Creates (or replaces) the entry of a new flow whose first packet is `f`. */
static __always_inline void ct_create(const struct flow *f, __u64 now)
{
	struct ct_key key;
	int src_is_a = ct_key_of(f, &key);
	/* An echo reply seen first: the initiator is the other side. */
	int init_is_a = f->icmp_reply ? !src_is_a : src_is_a;
	struct ct_value v = {
		.created = now,
		.last_seen = now,
		.packets = 1,
		.flags = init_is_a ? CT_F_INIT_A : 0,
	};

	if (f->proto == IPPROTO_TCP) {
		if (f->tcp_flags & TCPF_RST)
			v.state = CT_CLOSE;
		else if ((f->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN)
			v.state = CT_SYN_SENT;
		else
			v.state = CT_ESTABLISHED; /* picked up mid-flow (e.g. after the map was flushed) */
	} else {
		v.state = f->icmp_reply ? CT_REPLIED : CT_UNREPLIED;
	}
	bpf_map_update_elem(&ct, &key, &v, BPF_ANY);
}

#endif /* TABBY_BPF_CONNTRACK_H */
