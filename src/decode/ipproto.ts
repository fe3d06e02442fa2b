/** IP protocol names as tcpdump's ipproto_values table spells them (used by `-v`). */

const names: Record<number, string> = {
  0: 'Options', 1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 8: 'EGP', 9: 'IGRP', 17: 'UDP', 29: 'TP', 33: 'DCCP',
  41: 'IPv6', 43: 'Routing', 44: 'Fragment', 46: 'RSVP', 47: 'GRE', 50: 'ESP', 51: 'AH', 54: 'NARP', 58: 'ICMPv6',
  59: 'NONE', 60: 'DSTOPTS', 80: 'ISO-IP', 88: 'EIGRP', 89: 'OSPF', 98: 'ENCAP', 103: 'PIM', 108: 'Compressed IP',
  112: 'VRRP', 113: 'PGM', 132: 'SCTP', 135: 'Mobility IP', 136: 'UDPLite', 137: 'MPLS in IP',
};

export function ipprotoName(proto: number): string | undefined {
  return names[proto];
}
