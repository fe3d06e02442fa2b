/** The pcap-filter syntax tree: what the parser produces and gencode walks (qualifiers already resolved, libpcap-style). */

/** Protocol qualifiers (libpcap's Q_LINK, Q_IP, ...), by their keyword; `default` when absent, `undef` after a non-id term. */
export type ProtoQual =
  | 'default' | 'undef' | 'link' | 'ip' | 'arp' | 'rarp' | 'sctp' | 'tcp' | 'udp' | 'icmp' | 'igmp' | 'igrp' | 'pim'
  | 'vrrp' | 'carp' | 'radio' | 'ip6' | 'icmp6' | 'ah' | 'esp' | 'atalk' | 'aarp' | 'decnet' | 'lat' | 'sca'
  | 'moprc' | 'mopdl' | 'iso' | 'esis' | 'isis' | 'l1' | 'l2' | 'iih' | 'lsp' | 'snp' | 'csnp' | 'psnp' | 'clnp'
  | 'stp' | 'ipx' | 'netbeui';

/** Direction qualifiers. */
export type DirQual =
  | 'default' | 'undef' | 'src' | 'dst' | 'src or dst' | 'src and dst' | 'addr1' | 'addr2' | 'addr3' | 'addr4' | 'ra' | 'ta';

/** Address-type qualifiers. */
export type AddrQual = 'default' | 'undef' | 'host' | 'net' | 'port' | 'portrange' | 'proto' | 'protochain' | 'gateway';

/** The three qualifiers that apply to an id. */
export interface Qual {
  proto: ProtoQual;
  dir: DirQual;
  addr: AddrQual;
}

/** An operand of a primitive: a name, a number, an address in one of the scanner's forms. */
export type IdValue =
  | { kind: 'name'; text: string }
  | { kind: 'num'; value: number }
  | { kind: 'ipv4'; text: string }
  | { kind: 'ipv4-len'; text: string; len: number }
  | { kind: 'ipv4-mask'; text: string; mask: string }
  | { kind: 'ipv6'; text: string; len: number }
  | { kind: 'mac'; text: string }
  | { kind: 'arcnet'; text: string };

/** Arithmetic expressions (`arth` in grammar.y). */
export type Arith =
  | { kind: 'num'; value: number; col: number }
  | { kind: 'len'; col: number }
  | { kind: 'load'; proto: ProtoQual; index: Arith; size: number; col: number }
  | { kind: 'binary'; op: ArithOp; left: Arith; right: Arith; col: number }
  | { kind: 'neg'; operand: Arith; col: number };

export type ArithOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '<<' | '>>';
export type RelOp = '>' | '>=' | '=' | '<=' | '<' | '!=';

/** Boolean filter expressions. */
export type Expr =
  | { kind: 'and' | 'or'; left: Expr; right: Expr; col: number }
  | { kind: 'not'; operand: Expr; col: number }
  | { kind: 'id'; qual: Qual; value: IdValue; col: number }
  | { kind: 'abbrev'; proto: ProtoQual; col: number }
  | { kind: 'relation'; op: RelOp; left: Arith; right: Arith; col: number }
  | { kind: 'primitive'; name: string; proto: ProtoQual; args: number[]; text?: string; col: number };

/** A parsed filter: `expr` is undefined for the empty expression (accept everything). */
export interface FilterAst {
  expr: Expr | undefined;
}
