/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every tabby BPF program includes first: the uapi headers (there is no vmlinux.h on
 * these machines), libbpf's helper macros, and the few constants that are newer than the
 * build machine's linux-libc-dev (6.1). Keep this header free of maps and logic.
 */
#ifndef TABBY_BPF_COMMON_H
#define TABBY_BPF_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Newer uapi constants go here, each guarded so a newer linux-libc-dev does not clash. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#endif

/* Which tc hook a program runs on; also the `direction` field of map keys. */
enum tabby_dir {
	DIR_INGRESS = 0,
	DIR_EGRESS = 1,
};

#endif /* TABBY_BPF_COMMON_H */
