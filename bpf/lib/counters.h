/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-interface, per-direction counters. This header owns the `counters` map, its key and
 * value structs, and the only functions that touch it.
 *
 * The TypeScript mirror is src/dataplane/bpf/codecs/counters.ts; test/bpf/btf-layout.test.ts
 * compares both layouts with this object's BTF, so change them together.
 */
#ifndef TABBY_BPF_COUNTERS_H
#define TABBY_BPF_COUNTERS_H

#include "common.h"
#include "drop.h"

struct counter_key {
	__u32 ifindex;
	__u8 direction; /* enum tabby_dir */
	__u8 _pad[3];
};

struct counter_value {
	__u64 packets;   /* every packet the program saw, dropped or not */
	__u64 bytes;     /* skb->len of those packets */
	__u64 dropped;   /* packets the program returned TC_ACT_SHOT for, any reason */
	__u64 malformed; /* of the dropped ones, those whose headers did not parse */
};

#ifndef COUNTERS_MAX_ENTRIES
#define COUNTERS_MAX_ENTRIES 16384
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, COUNTERS_MAX_ENTRIES);
	__type(key, struct counter_key);
	__type(value, struct counter_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

/* This CPU's slot for (ifindex, dir), created zeroed on first use; NULL only if the map is full. */
static __always_inline struct counter_value *counters_get(__u32 ifindex, __u8 dir)
{
	struct counter_key key = { .ifindex = ifindex, .direction = dir };
	struct counter_value *val = bpf_map_lookup_elem(&counters, &key);

	if (val)
		return val;
	struct counter_value zero = {};
	bpf_map_update_elem(&counters, &key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&counters, &key);
}

/*
 * Counts one packet and its outcome. `ret` is TC_ACT_OK or a negative DROP_* reason.
 * Per-CPU values need no atomics: only this CPU writes its slot.
 */
static __always_inline void counters_account(__u32 ifindex, __u8 dir, __u32 len, int ret)
{
	struct counter_value *val = counters_get(ifindex, dir);

	if (!val)
		return;
	val->packets += 1;
	val->bytes += len;
	if (is_drop(ret)) {
		val->dropped += 1;
		if (is_malformed(ret))
			val->malformed += 1;
	}
}

#endif /* TABBY_BPF_COUNTERS_H */
