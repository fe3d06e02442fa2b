/** Protocol numbers and header offsets gencode uses (EtherTypes, LLC SAPs, IP protocols, field offsets). */

export const ETHERTYPE = {
  IP: 0x0800, ARP: 0x0806, REVARP: 0x8035, IPV6: 0x86dd, ATALK: 0x809b, AARP: 0x80f3, DN: 0x6003, LAT: 0x6004,
  SCA: 0x6007, MOPDL: 0x6001, MOPRC: 0x6002, VLAN_8021Q: 0x8100, VLAN_8021AD: 0x88a8, VLAN_8021QINQ: 0x9100,
  MPLS: 0x8847, PPPOED: 0x8863, PPPOES: 0x8864, IPX: 0x8137, NS: 0x0600, TEB: 0x6558,
} as const;

export const LLCSAP = { IP: 0x06, ISONS: 0xfe, NETBEUI: 0xf0, IPX: 0xe0, SNAP: 0xaa, STP_8021D: 0x42 } as const;

export const IPPROTO = {
  ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, IGRP: 9, FRAGMENT: 44, ESP: 50, AH: 51, ICMPV6: 58, PIM: 103, VRRP: 112,
  CARP: 112, SCTP: 132, HOPOPTS: 0, ROUTING: 43, DSTOPTS: 60, NONE: 59,
} as const;

/** libpcap's PROTO_UNDEF: "any of TCP, UDP, SCTP". */
export const PROTO_UNDEF = -1;

export const ETHERMTU = 1500;
export const IP6_HDRLEN = 40;
export const IPV4_SRCADDR_OFFSET = 12;
export const IPV4_DSTADDR_OFFSET = 16;
export const IPV4_PROTO_OFFSET = 9;
export const IPV6_SRCADDR_OFFSET = 8;
export const IPV6_DSTADDR_OFFSET = 24;
export const IPV6_PROTO_OFFSET = 6;
export const ARP_SRCADDR_OFFSET = 14;
export const ARP_DSTADDR_OFFSET = 24;
export const TRAN_SRCPORT_OFFSET = 0;
export const TRAN_DSTPORT_OFFSET = 2;
export const OFFSET_NOT_SET = 0xffffffff;

export const ISO = { CLNP: 0x81, ESIS: 0x82, ISIS: 0x83, IPV4: 0xcc, IPV6: 0x8e } as const;
export const ISIS_PDU = {
  L1_LAN_IIH: 15, L2_LAN_IIH: 16, PTP_IIH: 17, L1_LSP: 18, L2_LSP: 20, L1_CSNP: 24, L2_CSNP: 25, L1_PSNP: 26,
  L2_PSNP: 27, TYPE_MAX: 0x1f,
} as const;

export const PPP = {
  IP: 0x0021, IPV6: 0x0057, DECNET: 0x0027, APPLE: 0x0029, NS: 0x0025, OSI: 0x0023, BRPDU: 0x0031, IPX: 0x002b,
  VJC: 0x002d, VJNC: 0x002f, MPLS_UCAST: 0x0281,
} as const;

export const LINUX_SLL_P_802_3 = 0x0001;
export const LINUX_SLL_P_802_2 = 0x0004;
export const LINUX_SLL_OUTGOING = 4;
