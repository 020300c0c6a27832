/**
 * The rtnetlink numbers we use, from <linux/netlink.h>, <linux/rtnetlink.h>,
 * <linux/if_link.h>, <linux/if_addr.h>, <linux/veth.h> and <linux/if.h>. They are kernel ABI
 * and never change, so they are written down here rather than read from headers at build
 * time (the codec that uses them is plain TypeScript).
 */

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  // GET requests
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  // NEW requests
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // ACK flags
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Attributes of an extended ACK (after struct nlmsgerr). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3 } as const;

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;

export const AF_UNSPEC = 0;
export const AF_INET = 2;

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_PID: 19,
  NET_NS_FD: 28,
  LINK_NETNSID: 37,
} as const;

export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
export const VETH_INFO_PEER = 1;

export const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, POINTOPOINT: 0x10, RUNNING: 0x40, NOARP: 0x80, LOWER_UP: 0x10000 } as const;

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;

export const RTA = { DST: 1, SRC: 2, IIF: 3, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8, MULTIPATH: 9, TABLE: 15 } as const;

export const RTNH_F = { DEAD: 1, PERVASIVE: 2, ONLINK: 4, OFFLOAD: 8, LINKDOWN: 16 } as const;

export const RTM_F_CLONED = 0x200;

export const RT_TABLE = { UNSPEC: 0, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const;

export const RTN_NAMES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'] as const;
export type RouteType = (typeof RTN_NAMES)[number];

export const RT_SCOPES = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export type RouteScope = keyof typeof RT_SCOPES;

/** Sizes of the fixed headers. */
export const NLMSG_HDRLEN = 16;
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;
export const RTNEXTHOP_LEN = 8;
