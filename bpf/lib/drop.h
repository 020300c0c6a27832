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
};

static __always_inline int is_drop(int ret)
{
	return ret < 0;
}

#endif /* TABBY_BPF_DROP_H */
