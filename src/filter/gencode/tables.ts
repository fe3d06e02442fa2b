/** Gencode's data tables: link-type groups, qualifier-to-number maps, PF names, Juniper offsets, operator codes. */

import { BPF_ADD, BPF_AND, BPF_DIV, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_LSH, BPF_MOD, BPF_MUL, BPF_OR, BPF_RSH, BPF_SUB, BPF_XOR } from '../../cbpf/index.js';
import type { ProtoQual } from '../ast.js';
import { DLT } from '../dlt.js';
import { ETHERTYPE, IPPROTO, ISO, LLCSAP, OFFSET_NOT_SET } from './constants.js';

export const ERR_INVALID_QUAL = (a: string, b: string): string => `'${a}' is not a valid qualifier for '${b}'`;

/** Link types whose link-layer addresses are MAC-48. */
export const MAC48_DLTS: ReadonlySet<number> = new Set([
  DLT.EN10MB, DLT.FDDI, DLT.IEEE802, DLT.IEEE802_11, DLT.IEEE802_11_RADIO, DLT.IEEE802_11_RADIO_AVS, DLT.IP_OVER_FC,
  DLT.NETANALYZER, DLT.NETANALYZER_TRANSPARENT, DLT.DSA_TAG_BRCM, DLT.DSA_TAG_DSA, DLT.PPI, DLT.PRISM_HEADER,
]);
export const ETHER_LIKE: ReadonlySet<number> = new Set([DLT.EN10MB, DLT.NETANALYZER, DLT.NETANALYZER_TRANSPARENT, DLT.DSA_TAG_BRCM, DLT.DSA_TAG_DSA]);
export const WLAN_DLTS: ReadonlySet<number> = new Set([DLT.IEEE802_11, DLT.PRISM_HEADER, DLT.IEEE802_11_RADIO_AVS, DLT.IEEE802_11_RADIO, DLT.PPI]);

export const PF_REASONS: readonly (readonly [string, number])[] = [
  'match', 'bad-offset', 'fragment', 'short', 'normalize', 'memory', 'bad-timestamp', 'congestion', 'ip-option',
  'proto-cksum', 'state-mismatch', 'state-insert', 'state-limit', 'src-limit', 'synproxy',
].map((n, i) => [n, i] as const);
export const PF_ACTIONS: readonly (readonly [string, number])[] = [
  ['pass', 0], ['accept', 0], ['drop', 1], ['block', 1], ['scrub', 2], ['noscrub', 3], ['nat', 4], ['nonat', 5],
  ['binat', 6], ['nobinat', 7], ['rdr', 8], ['nordr', 9], ['synproxy-drop', 10],
];

/** Juniper DLTs: [off_linktype, off_linkpl] from init_linktype. */
export const JUNIPER_OFFSETS: ReadonlyMap<string, readonly [number, number]> = new Map([
  ['JUNIPER_MFR', [4, 4]], ['JUNIPER_MLFR', [4, 4]], ['JUNIPER_MLPPP', [4, 4]], ['JUNIPER_PPP', [4, 4]],
  ['JUNIPER_CHDLC', [4, 4]], ['JUNIPER_FRELAY', [4, 4]], ['JUNIPER_ATM1', [4, 4]], ['JUNIPER_ATM2', [8, 8]],
  ['JUNIPER_PPPOE', [16, 14]], ['JUNIPER_ETHER', [16, 14]], ['JUNIPER_PPPOE_ATM', [4, 6]], ['JUNIPER_GGSN', [6, 12]],
  ['JUNIPER_ES', [6, OFFSET_NOT_SET]], ['JUNIPER_MONITOR', [12, 12]], ['JUNIPER_SERVICES', [12, OFFSET_NOT_SET]],
  ['JUNIPER_VP', [18, OFFSET_NOT_SET]], ['JUNIPER_ST', [18, OFFSET_NOT_SET]], ['JUNIPER_ISM', [8, OFFSET_NOT_SET]],
  ['JUNIPER_VS', [8, OFFSET_NOT_SET]], ['JUNIPER_SRX_E2E', [8, OFFSET_NOT_SET]],
  ['JUNIPER_FIBRECHANNEL', [8, OFFSET_NOT_SET]], ['JUNIPER_ATM_CEMIC', [8, OFFSET_NOT_SET]],
]);

export const PQ_IPPROTO: Partial<Record<ProtoQual, number>> = {
  ah: IPPROTO.AH, carp: IPPROTO.CARP, esp: IPPROTO.ESP, icmp: IPPROTO.ICMP, icmp6: IPPROTO.ICMPV6, igmp: IPPROTO.IGMP,
  igrp: IPPROTO.IGRP, pim: IPPROTO.PIM, sctp: IPPROTO.SCTP, tcp: IPPROTO.TCP, udp: IPPROTO.UDP, vrrp: IPPROTO.VRRP,
};
export const PQ_ETHERTYPE: Partial<Record<ProtoQual, number>> = {
  aarp: ETHERTYPE.AARP, arp: ETHERTYPE.ARP, atalk: ETHERTYPE.ATALK, decnet: ETHERTYPE.DN, ip: ETHERTYPE.IP,
  ip6: ETHERTYPE.IPV6, lat: ETHERTYPE.LAT, mopdl: ETHERTYPE.MOPDL, moprc: ETHERTYPE.MOPRC, rarp: ETHERTYPE.REVARP,
  sca: ETHERTYPE.SCA,
};
export const PQ_LLCSAP: Partial<Record<ProtoQual, number>> = { ipx: LLCSAP.IPX, iso: LLCSAP.ISONS, netbeui: LLCSAP.NETBEUI, stp: LLCSAP.STP_8021D };
export const PQ_NLPID: Partial<Record<ProtoQual, number>> = { esis: ISO.ESIS, isis: ISO.ISIS, clnp: ISO.CLNP };
/** Ethernet protocol names for `ether proto NAME` (libpcap's eproto_db and llc_db). */
export const EPROTO_NAMES: ReadonlyMap<string, number> = new Map([
  ['aarp', ETHERTYPE.AARP], ['arp', ETHERTYPE.ARP], ['atalk', ETHERTYPE.ATALK], ['decnet', ETHERTYPE.DN],
  ['ip', ETHERTYPE.IP], ['ip6', ETHERTYPE.IPV6], ['lat', ETHERTYPE.LAT], ['lldp', 0x88cc], ['loopback', 0x9000],
  ['mopdl', ETHERTYPE.MOPDL], ['moprc', ETHERTYPE.MOPRC], ['rarp', ETHERTYPE.REVARP], ['sca', ETHERTYPE.SCA],
  ['slow', 0x8809], ['iso', LLCSAP.ISONS], ['stp', LLCSAP.STP_8021D], ['ipx', LLCSAP.IPX], ['netbeui', LLCSAP.NETBEUI],
]);


export const ARITH_CODES: Record<string, number> = {
  '+': BPF_ADD, '-': BPF_SUB, '*': BPF_MUL, '/': BPF_DIV, '%': BPF_MOD, '&': BPF_AND, '|': BPF_OR, '^': BPF_XOR,
  '<<': BPF_LSH, '>>': BPF_RSH,
};
/** relop → [jump, reversed]: `<=` is `not >`, `<` is `not >=`, `!=` is `not ==`. */
export const RELOP_JUMPS: Record<string, [number, boolean]> = {
  '>': [BPF_JGT, false], '>=': [BPF_JGE, false], '=': [BPF_JEQ, false], '<=': [BPF_JGT, true], '<': [BPF_JGE, true],
  '!=': [BPF_JEQ, true],
};
