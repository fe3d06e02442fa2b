/** Name resolution for filters: the resolver interface, built-in protocol/service tables, and parsers for hosts/ethers/networks text. */

import { PROTOCOLS } from './protocols.js';
import { SERVICES } from './services.js';

/** Addresses a host name resolves to: IPv4 as unsigned 32-bit numbers, IPv6 as 16 bytes. */
export interface HostAddresses {
  ipv4: number[];
  ipv6: Uint8Array[];
}

/**
 * Answers the name lookups gencode needs. Core code never reads files or the network:
 * the caller supplies this (the CLI reads /etc/hosts, /etc/ethers, /etc/networks, /etc/services).
 * Every method is optional; a missing method or an undefined answer means "unknown name".
 */
export interface Resolver {
  host?(name: string): HostAddresses | undefined;
  ether?(name: string): Uint8Array | undefined;
  /** A network number in host order as getnetbyname(3) returns it (`10.20` → 0x0a14). */
  network?(name: string): number | undefined;
  /** A port for a service name; consulted before the built-in table. */
  service?(name: string, proto: 'tcp' | 'udp' | 'sctp'): number | undefined;
  protocol?(name: string): number | undefined;
}

const serviceIndex = new Map<string, readonly [string, number, number, number]>();
for (const s of SERVICES) if (!serviceIndex.has(s[0])) serviceIndex.set(s[0], s);
const protocolIndex = new Map<string, number>(PROTOCOLS.map(([n, v]) => [n, v]));

/** A service's port for one transport: the resolver first, then the built-in table; -1 when unknown. */
export function lookupService(resolver: Resolver | undefined, name: string, proto: 'tcp' | 'udp' | 'sctp'): number {
  const r = resolver?.service?.(name, proto);
  if (r !== undefined) return r;
  const s = serviceIndex.get(name);
  if (!s) return -1;
  return proto === 'tcp' ? s[1] : proto === 'udp' ? s[2] : s[3];
}

/** An IP protocol number by name (getprotobyname semantics), or -1. */
export function lookupProtocol(resolver: Resolver | undefined, name: string): number {
  const r = resolver?.protocol?.(name);
  if (r !== undefined) return r;
  return protocolIndex.get(name) ?? -1;
}

/** Parses dotted IPv4 text (a.b.c.d) to an unsigned number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return undefined;
  const p = m.slice(1).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad) to 16 bytes, or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = s.slice(0, lastColon + 1) + (v4 >>> 16).toString(16) + ':' + (v4 & 0xffff).toString(16);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  if (!left || !right) return undefined;
  const groups = halves.length === 2 ? 8 - left.length - right.length : 0;
  if (groups < 0 || (halves.length === 1 && left.length !== 8)) return undefined;
  if (halves.length === 2 && groups < 1) return undefined;
  const all = [...left, ...new Array<number>(groups).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Tables of names, as in /etc/hosts, /etc/ethers and /etc/networks. */
export interface NameTables {
  hosts?: readonly { name: string; addr: string }[];
  ethers?: readonly { name: string; mac: string }[];
  networks?: readonly { name: string; net: string }[];
}

/** inet_network(3): `10.20` → 0x0a14, `10.20.0.0` → 0x0a140000. */
export function inetNetwork(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || parts.some((p) => !/^\d+$/.test(p) || Number(p) > 255)) return undefined;
  let v = 0;
  for (const p of parts) v = v * 256 + Number(p);
  return v >>> 0;
}

/** Builds a {@link Resolver} over fixed tables; names match case-insensitively, as glibc's files backend does. */
export function resolverFromTables(tables: NameTables, fallback?: Resolver): Resolver {
  const hosts = new Map<string, HostAddresses>();
  for (const h of tables.hosts ?? []) {
    const key = h.name.toLowerCase();
    const e = hosts.get(key) ?? { ipv4: [], ipv6: [] };
    const v4 = parseIpv4(h.addr);
    if (v4 !== undefined) e.ipv4.push(v4);
    else {
      const v6 = parseIpv6(h.addr);
      if (v6) e.ipv6.push(v6);
    }
    hosts.set(key, e);
  }
  const ethers = new Map<string, Uint8Array>();
  for (const e of tables.ethers ?? []) {
    const key = e.name.toLowerCase();
    if (!ethers.has(key)) ethers.set(key, Uint8Array.from(e.mac.split(':').map((x) => parseInt(x, 16))));
  }
  const networks = new Map<string, number>();
  for (const n of tables.networks ?? []) {
    const v = inetNetwork(n.net);
    if (v !== undefined && !networks.has(n.name.toLowerCase())) networks.set(n.name.toLowerCase(), v);
  }
  return {
    host: (name) => hosts.get(name.toLowerCase()) ?? fallback?.host?.(name),
    ether: (name) => ethers.get(name.toLowerCase()) ?? fallback?.ether?.(name),
    network: (name) => networks.get(name.toLowerCase()) ?? fallback?.network?.(name),
    service: (name, proto) => fallback?.service?.(name, proto),
    protocol: (name) => fallback?.protocol?.(name),
  };
}

/** Parses /etc/hosts text into table rows. */
export function parseHostsText(text: string): { name: string; addr: string }[] {
  const out: { name: string; addr: string }[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    if (f.length < 2) continue;
    for (const name of f.slice(1)) out.push({ name, addr: f[0] });
  }
  return out;
}

/** Parses /etc/ethers text (`mac name`). */
export function parseEthersText(text: string): { name: string; mac: string }[] {
  const out: { name: string; mac: string }[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    if (f.length >= 2 && /^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2}){5}$/.test(f[0])) out.push({ name: f[1], mac: f[0] });
  }
  return out;
}

/** Parses /etc/networks text (`name net [aliases]`). */
export function parseNetworksText(text: string): { name: string; net: string }[] {
  const out: { name: string; net: string }[] = [];
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    if (f.length < 2) continue;
    out.push({ name: f[0], net: f[1] });
    for (const alias of f.slice(2)) out.push({ name: alias, net: f[1] });
  }
  return out;
}

/** Parses /etc/services text into a service lookup. */
export function parseServicesText(text: string): (name: string, proto: 'tcp' | 'udp' | 'sctp') => number | undefined {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.replace(/#.*/, '').trim().split(/\s+/);
    if (f.length < 2) continue;
    const [port, proto] = f[1].split('/');
    for (const n of [f[0], ...f.slice(2)]) {
      const key = `${n}/${proto}`;
      if (!m.has(key)) m.set(key, Number(port));
    }
  }
  return (name, proto) => m.get(`${name}/${proto}`);
}
