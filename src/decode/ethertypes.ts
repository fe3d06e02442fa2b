/** Ethertype names as tcpdump prints them (`ethertype IPv4 (0x0800)`). */

export const ETHERTYPE_IP = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_REVARP = 0x8035;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_8021Q = 0x8100;
export const ETHERTYPE_8021QINQ = 0x88a8;
export const ETHERTYPE_8021Q9100 = 0x9100;
export const ETHERTYPE_8021Q9200 = 0x9200;

/** The subset of tcpdump's `ethertype_values` table that real traffic shows most. */
export const ethertypeNames: ReadonlyMap<number, string> = new Map([
  [0x0800, 'IPv4'], [0x0806, 'ARP'], [0x86dd, 'IPv6'], [0x8100, '802.1Q'], [0x88a8, '802.1Q-QinQ'],
  [0x9100, '802.1Q-9100'], [0x9200, '802.1Q-9200'], [0x8035, 'Reverse ARP'], [0x8847, 'MPLS unicast'],
  [0x8848, 'MPLS multicast'], [0x8863, 'PPPoE D'], [0x8864, 'PPPoE S'], [0x88cc, 'LLDP'], [0x9000, 'Loopback'],
  [0x888e, 'EAPOL'], [0x6003, 'DN'], [0x809b, 'Appletalk'], [0x80f3, 'Appletalk ARP'], [0x8137, 'IPX'],
  [0x88e5, 'MACsec'], [0x8809, 'Slow Protocols'], [0x88f7, 'PTP'], [0x8906, 'FCoE'], [0x8914, 'FIP'],
  [0x88a2, 'AoE'], [0x8902, 'CFM'], [0x0842, 'Wake-on-LAN'], [0x893a, 'IEEE1905.1'], [0x88e7, 'PBB'],
  [0x8892, 'PROFINET'], [0x22f0, 'AVTP'], [0x8874, 'Broadcom'], [0x6558, 'TEB'], [0x8870, 'Jumbo'],
  [0x880b, 'PPP'], [0x8880, 'CFM_OLD'], [0x6002, 'MOP RC'], [0x6001, 'MOP DL'], [0x6004, 'LAT'],
  [0x9001, '3Com XNS Sys Mgmt'], [0x0600, 'XNS'], [0x0200, 'PUP'], [0x8038, 'DEC LANBridge'],
  [0x8137, 'IPX'], [0x88bb, 'LWAPP'], [0x8819, 'CobraNet'], [0x0bad, 'Vines'], [0xfefe, 'OSI'],
]);

/** `IPv4`, or `Unknown` as tcpdump's tok2str default. */
export function ethertypeName(t: number): string {
  return ethertypeNames.get(t) ?? 'Unknown';
}
