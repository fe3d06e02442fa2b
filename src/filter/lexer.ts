/** The pcap-filter lexer: splits an expression into tokens with flex's longest-match rules, as libpcap's scanner.l does. */

import { ParseError } from '../util/index.js';
import { parseIpv6 } from './names/resolver.js';

/** Kinds of token; keywords carry their own kind (the word itself). */
export type TokenKind =
  | 'num' | 'id' | 'hid' | 'hid6' | 'eid' | 'aid' | 'kw' | 'punct' | 'eof';

/** One token: `text` is the source spelling (without a leading backslash), `col` its 1-based column. */
export interface Token {
  kind: TokenKind;
  /** For `kw`, the canonical keyword (`and` for `&&`); for `punct`, the operator. */
  value: string;
  text: string;
  /** Numeric value of `num` tokens. */
  num: number;
  col: number;
}

/** Keyword spellings → canonical keyword, as in scanner.l (case-sensitive). */
const KEYWORDS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    dst: 'dst', src: 'src', link: 'link', ether: 'link', ppp: 'link', slip: 'link', fddi: 'link', tr: 'link', wlan: 'link',
    arp: 'arp', rarp: 'rarp', ip: 'ip', sctp: 'sctp', tcp: 'tcp', udp: 'udp', icmp: 'icmp', igmp: 'igmp', igrp: 'igrp',
    pim: 'pim', vrrp: 'vrrp', carp: 'carp', radio: 'radio', ip6: 'ip6', icmp6: 'icmp6', ah: 'ah', esp: 'esp',
    atalk: 'atalk', aarp: 'aarp', decnet: 'decnet', lat: 'lat', sca: 'sca', moprc: 'moprc', mopdl: 'mopdl',
    iso: 'iso', esis: 'esis', 'es-is': 'esis', isis: 'isis', 'is-is': 'isis', l1: 'l1', l2: 'l2', iih: 'iih',
    lsp: 'lsp', snp: 'snp', csnp: 'csnp', psnp: 'psnp', clnp: 'clnp', stp: 'stp', ipx: 'ipx', netbeui: 'netbeui',
    host: 'host', net: 'net', mask: 'mask', port: 'port', portrange: 'portrange', proto: 'proto',
    protochain: 'protochain', gateway: 'gateway', type: 'type', subtype: 'subtype', direction: 'dir', dir: 'dir',
    address1: 'addr1', addr1: 'addr1', address2: 'addr2', addr2: 'addr2', address3: 'addr3', addr3: 'addr3',
    address4: 'addr4', addr4: 'addr4', ra: 'ra', ta: 'ta', less: 'less', greater: 'greater', byte: 'byte',
    broadcast: 'broadcast', multicast: 'multicast', and: 'and', or: 'or', not: 'not', len: 'len', length: 'len',
    inbound: 'inbound', outbound: 'outbound', ifindex: 'ifindex', vlan: 'vlan', mpls: 'mpls', pppoed: 'pppoed',
    pppoes: 'pppoes', geneve: 'geneve', vxlan: 'vxlan', lane: 'lane', llc: 'llc', metac: 'metac', bcc: 'bcc',
    oam: 'oam', oamf4: 'oamf4', oamf4ec: 'oamf4ec', oamf4sc: 'oamf4sc', sc: 'sc', ilmic: 'ilmic', vpi: 'vpi',
    vci: 'vci', connectmsg: 'connectmsg', metaconnect: 'metaconnect', on: 'ifname', ifname: 'ifname',
    rset: 'rset', ruleset: 'rset', rnr: 'rnr', rulenum: 'rnr', srnr: 'srnr', subrulenum: 'srnr',
    reason: 'reason', action: 'action', fisu: 'fisu', lssu: 'lssu', lsu: 'lssu', msu: 'msu', hfisu: 'hfisu',
    hlssu: 'hlssu', hmsu: 'hmsu', sio: 'sio', opc: 'opc', dpc: 'dpc', sls: 'sls', hsio: 'hsio', hopc: 'hopc',
    hdpc: 'hdpc', hsls: 'hsls',
  }),
);

/** Named numeric constants (`icmp-echo`, `tcp-syn`, ...), which the scanner returns as NUM. */
export const NAMED_NUMBERS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    icmptype: 0, icmpcode: 1, 'icmp-echoreply': 0, 'icmp-unreach': 3, 'icmp-sourcequench': 4, 'icmp-redirect': 5,
    'icmp-echo': 8, 'icmp-routeradvert': 9, 'icmp-routersolicit': 10, 'icmp-timxceed': 11, 'icmp-paramprob': 12,
    'icmp-tstamp': 13, 'icmp-tstampreply': 14, 'icmp-ireq': 15, 'icmp-ireqreply': 16, 'icmp-maskreq': 17,
    'icmp-maskreply': 18, icmp6type: 0, icmp6code: 1, 'icmp6-destinationunreach': 1, 'icmp6-packettoobig': 2,
    'icmp6-timeexceeded': 3, 'icmp6-parameterproblem': 4, 'icmp6-echo': 128, 'icmp6-echoreply': 129,
    'icmp6-multicastlistenerquery': 130, 'icmp6-multicastlistenerreportv1': 131, 'icmp6-multicastlistenerdone': 132,
    'icmp6-routersolicit': 133, 'icmp6-routeradvert': 134, 'icmp6-neighborsolicit': 135,
    'icmp6-neighboradvert': 136, 'icmp6-redirect': 137, 'icmp6-routerrenum': 138,
    'icmp6-nodeinformationquery': 139, 'icmp6-nodeinformationresponse': 140,
    'icmp6-ineighbordiscoverysolicit': 141, 'icmp6-ineighbordiscoveryadvert': 142,
    'icmp6-multicastlistenerreportv2': 143, 'icmp6-homeagentdiscoveryrequest': 144,
    'icmp6-homeagentdiscoveryreply': 145, 'icmp6-mobileprefixsolicit': 146, 'icmp6-mobileprefixadvert': 147,
    'icmp6-certpathsolicit': 148, 'icmp6-certpathadvert': 149, 'icmp6-multicastrouteradvert': 151,
    'icmp6-multicastroutersolicit': 152, 'icmp6-multicastrouterterm': 153, tcpflags: 13, 'tcp-fin': 0x01,
    'tcp-syn': 0x02, 'tcp-rst': 0x04, 'tcp-push': 0x08, 'tcp-ack': 0x10, 'tcp-urg': 0x20, 'tcp-ece': 0x40,
    'tcp-cwr': 0x80,
  }),
);

const B = '[0-9A-Fa-f][0-9A-Fa-f]?';
const B2 = '(?:[0-9A-Fa-f]{4})';
const N = '(?:0[Xx][0-9A-Fa-f]+|[0-9]+)';
const W = '[0-9A-Fa-f]{1,4}';
const IPV4 = `${N}\\.${N}\\.${N}\\.${N}`;

/** IPv6 forms of scanner.l (V680..V6004): 8 groups, or `::` somewhere, optionally ending in a dotted quad. */
function v6Pattern(): string {
  const forms: string[] = [`(?:${W}:){7}${W}`];
  const grp = (n: number): string => (n === 0 ? '' : `${W}(?::${W}){${n - 1}}`);
  for (let total = 0; total <= 7; total++) {
    for (let left = 0; left <= total; left++) {
      const right = total - left;
      forms.push(`${grp(left)}::${grp(right)}`);
    }
  }
  for (let total = 0; total <= 5; total++) {
    for (let left = 0; left <= total; left++) {
      const right = total - left;
      forms.push(`${grp(left)}::${right ? grp(right) + ':' : ''}${IPV4}`);
    }
  }
  forms.push(`(?:${W}:){6}${IPV4}`);
  return `(?:${forms.join('|')})`;
}

/**
 * A scanner rule. `colon`: the rule only matches text with a `:` in its leading run of
 * hex digits, dots and colons, so it is not tried elsewhere (the IPv6 pattern has ~60
 * alternatives, each tried for the longest match, and is compiled on first use only).
 */
interface Rule {
  kind: TokenKind | 'bad-mac' | 'space';
  re: RegExp;
  colon?: boolean;
}

let v6Rule: RegExp | undefined;

/** The scanner's pattern rules in flex order; on equal length the earlier wins. */
const RULES: readonly Rule[] = [
  { kind: 'space', re: /[ \r\n\t]+/y },
  { kind: 'aid', re: new RegExp(`\\$${B}`, 'y') },
  {
    kind: 'eid',
    re: new RegExp(`(?:${B}:${B}:${B}:${B}:${B}:${B}|${B}-${B}-${B}-${B}-${B}-${B}|${B}\\.${B}\\.${B}\\.${B}\\.${B}\\.${B}|${B2}\\.${B2}\\.${B2}|${B2}{3})`, 'y'),
  },
  { kind: 'num', re: new RegExp(N, 'y') },
  { kind: 'hid', re: new RegExp(`(?:${N}\\.${N}\\.${N}\\.${N}|${N}\\.${N}\\.${N}|${N}\\.${N})`, 'y') },
  {
    kind: 'hid6',
    get re(): RegExp {
      v6Rule ??= new RegExp(v6Pattern(), 'y');
      return v6Rule;
    },
    colon: true,
  },
  { kind: 'bad-mac', re: new RegExp(`${B}:+(?:${B}:+)+`, 'y'), colon: true },
  { kind: 'id', re: /[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?/y },
  { kind: 'id', re: /\\[^ !()\n\t]+/y },
];

const HEX_DOT_COLON = /[0-9A-Fa-f.:]/;
const PUNCT2 = ['>=', '<=', '!=', '==', '<<', '>>', '&&', '||'];
const PUNCT1 = '+-*/%:[]!<>()&|^=';

/** Length of the longest match of a rule at `pos` (JS alternation is leftmost-first, flex's is longest). */
function matchLen(re: RegExp, src: string, pos: number): number {
  re.lastIndex = pos;
  const m = re.exec(src);
  if (!m) return 0;
  let best = m[0].length;
  // JS alternation is leftmost-first, flex is longest; widen by testing the whole-alternation lengths.
  const alt = splitTopAlternatives(re.source);
  if (alt) {
    for (const r of alt) {
      r.lastIndex = pos;
      const mm = r.exec(src);
      if (mm && mm[0].length > best) best = mm[0].length;
    }
  }
  return best;
}

const altCache = new Map<string, RegExp[] | null>();
/** Splits `(?:a|b|c)` into its top-level alternatives, compiled and cached. */
function splitTopAlternatives(source: string): RegExp[] | null {
  const hit = altCache.get(source);
  if (hit !== undefined) return hit;
  let result: RegExp[] | null = null;
  if (source.startsWith('(?:') && source.endsWith(')')) {
    const inner = source.slice(3, -1);
    const parts: string[] = [];
    let depth = 0;
    let cur = '';
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i];
      if (c === '\\') {
        cur += c + inner[i + 1];
        i++;
        continue;
      }
      if (c === '(' || c === '[') depth++;
      if (c === ')' || c === ']') depth--;
      if (c === '|' && depth === 0) {
        parts.push(cur);
        cur = '';
        continue;
      }
      cur += c;
    }
    parts.push(cur);
    if (depth === 0 && parts.length > 1) result = parts.map((p) => new RegExp(p, 'y'));
  }
  altCache.set(source, result);
  return result;
}

/** Parses a scanner number (decimal, 0x hex, leading-0 octal) as libpcap's stoulen does. */
export function parseNumber(text: string, col: number): number {
  const at = { position: { column: col } };
  let base: number;
  let digits: string;
  let kind: string;
  if (/^0[xX]/.test(text)) {
    base = 16;
    digits = text.slice(2);
    kind = 'hexadecimal';
  } else if (text.length > 1 && text.startsWith('0')) {
    base = 8;
    digits = text.slice(1);
    kind = 'octal';
  } else {
    base = 10;
    digits = text;
    kind = 'decimal';
  }
  // Digit by digit, as libpcap's stoulen: the first bad digit or overflow is reported.
  let v = 0;
  for (const ch of digits) {
    const d = parseInt(ch, 16);
    if (d >= base) throw new ParseError('E_FILTER_NUMBER', `number ${text} contains non-${kind} digit`, at);
    if (v * base + d > 0xffffffff) throw new ParseError('E_FILTER_NUMBER', `${kind} number ${text} overflows 32 bits`, at);
    v = v * base + d;
  }
  return v;
}

const SPACE_RUN = /[ \r\n\t]+/y;
const LETTER_RUN = /[A-Za-z]+/y;
/** Characters that continue an identifier, an address or a number: a word followed by none of them is whole. */
const CONTINUES = /[-_.A-Za-z0-9:$\\]/;
const SIX_HEX = /^[0-9A-Fa-f]{6}$/;
/** Punctuation no other rule can start (`:` can start an IPv6 address, `-` never starts another token but is listed for clarity). */
const QUICK_PUNCT = '+-*/%[]!<>()&|^=';

/**
 * The token at `pos` when it is one of the common kinds whose longest match is plain to see
 * (spaces, punctuation, a word of letters that no address or number rule can match), so the
 * scanner's rules need not all be tried; undefined otherwise.
 */
function quickToken(src: string, pos: number): { len: number; kind: 'space' | 'punct' | 'id' } | undefined {
  const c = src[pos];
  if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
    SPACE_RUN.lastIndex = pos;
    return { len: (SPACE_RUN.exec(src) as RegExpExecArray)[0].length, kind: 'space' };
  }
  if (QUICK_PUNCT.includes(c)) return { len: PUNCT2.includes(src.slice(pos, pos + 2)) ? 2 : 1, kind: 'punct' };
  LETTER_RUN.lastIndex = pos;
  const m = LETTER_RUN.exec(src);
  if (m === null) return undefined;
  const word = m[0];
  const next = src[pos + word.length];
  // Six hex digits are an Ethernet address (`B2{3}`); anything that goes on may be an address or a longer name.
  if ((next !== undefined && CONTINUES.test(next)) || SIX_HEX.test(word)) return undefined;
  return { len: word.length, kind: 'id' };
}

/** Splits a filter expression into tokens; throws {@link ParseError} on a character no rule accepts. */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let pos = 0;
  while (pos < src.length) {
    let bestLen = 0;
    let bestKind: Rule['kind'] | 'punct' | null = null;
    const quick = quickToken(src, pos);
    if (quick !== undefined) {
      bestLen = quick.len;
      bestKind = quick.kind;
    } else {
      let colon = false;
      for (let at = pos; at < src.length && HEX_DOT_COLON.test(src[at]); at++) if (src[at] === ':') colon = true;
      for (const rule of RULES) {
        if (rule.colon && !colon) continue;
        const len = matchLen(rule.re, src, pos);
        if (len > bestLen) {
          bestLen = len;
          bestKind = rule.kind;
        }
      }
    }
    const p2 = src.slice(pos, pos + 2);
    if (bestLen < 2 && PUNCT2.includes(p2)) {
      bestLen = 2;
      bestKind = 'punct';
    } else if (bestLen < 1 && PUNCT1.includes(src[pos])) {
      bestLen = 1;
      bestKind = 'punct';
    }
    const col = pos + 1;
    if (bestKind === null || bestLen === 0) {
      throw new ParseError('E_FILTER_SYNTAX', "can't parse filter expression: syntax error", { position: { column: col }, hint: `unexpected character '${src[pos]}'` });
    }
    const text = src.slice(pos, pos + bestLen);
    pos += bestLen;
    switch (bestKind) {
      case 'space':
        break;
      case 'punct': {
        const v = text === '&&' ? 'and' : text === '||' ? 'or' : text === '==' ? '=' : text;
        out.push({ kind: v === 'and' || v === 'or' ? 'kw' : 'punct', value: v, text, num: 0, col });
        break;
      }
      case 'id': {
        if (text.startsWith('\\')) {
          out.push({ kind: 'id', value: text.slice(1), text: text.slice(1), num: 0, col });
          break;
        }
        const kw = KEYWORDS.get(text);
        const named = NAMED_NUMBERS.get(text);
        if (kw !== undefined) out.push({ kind: kw === 'not' ? 'punct' : 'kw', value: kw === 'not' ? '!' : kw, text, num: 0, col });
        else if (named !== undefined) out.push({ kind: 'num', value: text, text, num: named, col });
        else out.push({ kind: 'id', value: text, text, num: 0, col });
        break;
      }
      case 'num':
        out.push({ kind: 'num', value: text, text, num: parseNumber(text, col), col });
        break;
      case 'bad-mac':
        throw new ParseError('E_FILTER_ADDRESS', `invalid Ethernet address ${text}`, { position: { column: col } });
      case 'hid6':
        if (!parseIpv6(text)) throw new ParseError('E_FILTER_ADDRESS', `invalid IPv6 address ${text}`, { position: { column: col } });
        out.push({ kind: 'hid6', value: text, text, num: 0, col });
        break;
      default:
        out.push({ kind: bestKind as TokenKind, value: text, text, num: 0, col });
    }
  }
  out.push({ kind: 'eof', value: '', text: '', num: 0, col: src.length + 1 });
  return out;
}
