// The held-out clang objects (test/fixtures-src/coll-*.c) and the test runs made on each: one table for the kernel suite and the VM-vs-recorded unit suite.
import { loadCollection, type Collection, type CollectionSpec, type LoadCollectionOptions } from '../../src/elf/index.js';
import type { BpfMap, BpfProgram, CollectionBackend, TestRunOptions } from '../../src/ebpf/index.js';
import { MapType } from '../../src/ebpf/index.js';

/** One test run of a program of the collection, in table order (map state carries over between runs). */
export interface HeldoutRun {
  program: string;
  label: string;
  input: TestRunOptions;
}

/** One object: how it is compiled, how it is loaded, and what is run. */
export interface HeldoutCase {
  object: string;
  /** Extra clang flags (`-mcpu=v4`, `-target bpfeb`). */
  flags?: string[];
  options?: LoadCollectionOptions;
  runs: HeldoutRun[];
}

/** What a run gives on one backend: its result, or the errno it was refused with. */
export interface RunOutcome {
  label: string;
  retval?: number;
  dataOut?: string;
  ctxOut?: string;
  errno?: number;
}

/** A whole object's outcome: every run, then every map's entries (sorted by key) and what the maps are. */
export interface CaseOutcome {
  runs: RunOutcome[];
  maps: Record<string, { name: string; type: number; keySize: number; valueSize: number; maxEntries: number; flags: number; entries: [string, string][] }>;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A checksummed IPv4 header. */
function ipv4(proto: number, payloadLen: number, o: { tos?: number; ttl?: number } = {}): number[] {
  const h = [0x45, o.tos ?? 0, 0, 0, 0x12, 0x34, 0x40, 0, o.ttl ?? 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
  const total = 20 + payloadLen;
  h[2] = total >> 8;
  h[3] = total & 0xff;
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (h[i] << 8) | h[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  const c = ~sum & 0xffff;
  h[10] = c >> 8;
  h[11] = c & 0xff;
  return h;
}

const ETH = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
const be16 = (n: number): number[] => [n >> 8, n & 0xff];

/** An Ethernet + IPv4 frame: TCP (6), UDP (17) or ICMP (1) with the given destination port and padding. */
export function frame(proto: number, dport = 80, o: { tos?: number; ttl?: number; pad?: number; vlan?: number } = {}): Uint8Array {
  const l4 = proto === 6 ? [...be16(40000), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]
    : proto === 17 ? [...be16(40000), ...be16(dport), 0, 8, 0, 0] : [8, 0, 0xf7, 0xff, 0, 0, 0, 0];
  const payload = [...l4, ...new Array<number>(o.pad ?? 0).fill(0xab)];
  const l2 = o.vlan === undefined ? [...ETH, 8, 0] : [...ETH, 0x81, 0, ...be16(o.vlan), 8, 0];
  return Uint8Array.from([...l2, ...ipv4(proto, payload.length, o), ...payload]);
}

/** A frame that is not IP (ARP), padded to the Ethernet minimum. */
export const arp = (): Uint8Array => Uint8Array.from([...ETH, 8, 6, ...new Array<number>(46).fill(0)]);

/** `__sk_buff` in: mark and cb[1] set, as a tc test run may give them. */
function skbCtx(mark: number, cb1: number): Uint8Array {
  const c = new Uint8Array(192);
  const v = new DataView(c.buffer);
  v.setUint32(8, mark, true);
  v.setUint32(52, cb1, true);
  return c;
}

/** Raw tracepoint args (u64 each). */
function args(...a: bigint[]): Uint8Array {
  const c = new Uint8Array(a.length * 8);
  a.forEach((x, i) => new DataView(c.buffer).setBigUint64(i * 8, x, true));
  return c;
}

const runs = (program: string, inputs: [string, TestRunOptions][]): HeldoutRun[] => inputs.map(([label, input]) => ({ program, label, input }));
const TCP = 6, UDP = 17, ICMP = 1;

/** The held-out set: 16 objects, every program type and loader feature the issue names. */
export const HELDOUT: readonly HeldoutCase[] = [
  {
    object: 'coll-xdp-fw',
    runs: runs('xdp_fw', [
      ['udp to 53', { data: frame(UDP, 53) }], ['udp to 80', { data: frame(UDP, 80) }], ['tcp', { data: frame(TCP) }],
      ['arp', { data: arp() }], ['runt 20', { data: frame(UDP).subarray(0, 20) }], ['eth only', { data: frame(UDP).subarray(0, 14) }],
      ['13 bytes', { data: frame(UDP).subarray(0, 13) }], ['udp to 53 again', { data: frame(UDP, 53) }],
    ]),
  },
  {
    object: 'coll-xdp-fw', options: { constants: { blocked_port: 80 } },
    runs: runs('xdp_fw', [['udp to 53, port 80 blocked', { data: frame(UDP, 53) }], ['udp to 80, port 80 blocked', { data: frame(UDP, 80) }]]),
  },
  {
    object: 'coll-xdp-vlan', flags: ['-mcpu=v3'],
    runs: runs('xdp_vlan_pop', [
      ['vlan 5', { data: frame(TCP, 80, { vlan: 5 }) }], ['vlan 200', { data: frame(UDP, 53, { vlan: 200 }) }],
      ['untagged', { data: frame(TCP) }], ['vlan 5 again', { data: frame(ICMP, 0, { vlan: 4096 + 5 }) }],
      ['xdp_md in', { data: frame(TCP, 80, { vlan: 7 }), ctx: Uint8Array.from([0, 0, 0, 0, 58, 0, 0, 0, ...new Array<number>(16).fill(0)]) }],
    ]),
  },
  {
    object: 'coll-tc-mark',
    runs: runs('tc_mark', [
      ['tos 0x10', { data: frame(TCP, 80, { tos: 0x10 }) }], ['tos 0xb8 with ctx', { data: frame(UDP, 53, { tos: 0xb8 }), ctx: skbCtx(3, 9) }],
      ['ttl 1', { data: frame(TCP, 80, { ttl: 1 }), ctx: skbCtx(0, 0) }], ['arp', { data: arp(), ctx: skbCtx(7, 1) }],
      ['len field set', { data: frame(TCP), ctx: Uint8Array.from([60, ...new Array<number>(191).fill(0)]) }],
      ['repeat 5', { data: frame(UDP, 53, { tos: 0x20 }), repeat: 5 }],
    ]),
  },
  {
    object: 'coll-tcx-ttl',
    runs: runs('tcx_ttl', [['ttl 64', { data: frame(TCP, 80, { ttl: 64 }) }], ['ttl 2', { data: frame(UDP, 53, { ttl: 2 }) }], ['ttl 1', { data: frame(UDP, 53, { ttl: 1 }) }], ['arp', { data: arp() }]]),
  },
  {
    object: 'coll-socket',
    runs: runs('sock_keep_tcp', [['tcp', { data: frame(TCP, 80, { pad: 100 }) }], ['udp', { data: frame(UDP, 53, { pad: 50 }) }], ['arp', { data: arp() }], ['icmp', { data: frame(ICMP) }]]),
  },
  {
    object: 'coll-cgroup-skb',
    runs: runs('cg_no_telnet', [['telnet', { data: frame(TCP, 23) }], ['http', { data: frame(TCP, 80) }], ['udp 23', { data: frame(UDP, 23) }], ['arp', { data: arp() }]]),
  },
  {
    object: 'coll-raw-tp',
    runs: runs('count_syscalls', [
      ['execve', { ctx: args(0n, 59n) }], ['write', { ctx: args(0n, 1n) }], ['execve again', { ctx: args(0n, 59n) }],
      ['with data', { ctx: args(0n, 1n), data: new Uint8Array(16) }], ['with repeat', { ctx: args(0n, 1n), repeat: 2 }],
      ['ctx shorter than read', { ctx: args(0n) }], ['no ctx', {}],
    ]),
  },
  { object: 'coll-tp-btf', runs: runs('on_switch', [['test run', { ctx: args(1n, 0n, 0n, 0n) }]]) },
  { object: 'coll-tracepoint', runs: runs('on_openat', [['test run', { ctx: new Uint8Array(48) }]]) },
  { object: 'coll-uprobe', flags: ['-D__TARGET_ARCH_x86'], runs: runs('on_readline', [['test run', { ctx: new Uint8Array(168) }]]) },
  {
    object: 'coll-tailcall',
    runs: runs('dispatch', [['tcp', { data: frame(TCP) }], ['udp', { data: frame(UDP) }], ['icmp', { data: frame(ICMP) }], ['arp', { data: arp() }], ['tcp again', { data: frame(TCP, 22) }]]),
  },
  {
    object: 'coll-map-in-map',
    runs: runs('tc_classify', [['60', { data: frame(TCP, 80, { pad: 6 }) }], ['150', { data: frame(UDP, 53, { pad: 108 }) }], ['250', { data: frame(TCP, 80, { pad: 196 }) }], ['251', { data: frame(TCP, 80, { pad: 197 }) }]]),
  },
  {
    object: 'coll-loop', flags: ['-mcpu=v3'],
    runs: runs('xdp_csum', [['tcp', { data: frame(TCP) }], ['udp padded', { data: frame(UDP, 53, { pad: 31 }) }], ['big', { data: frame(TCP, 80, { pad: 1200 }) }], ['arp', { data: arp() }]]),
  },
  {
    object: 'coll-v4', flags: ['-mcpu=v4'],
    runs: runs('tc_v4', [
      ['signed bytes', { data: Uint8Array.from([0xf0, 0, 0xfe, 0xff, 0x9c, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0, 0, 0, 0]) }],
      ['zero divisor', { data: Uint8Array.from([5, 0, 3, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }],
      ['negative divisor', { data: Uint8Array.from([0x80, 0, 0, 0x80, 0x0b, 0, 0, 0x80, 0xfd, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2]) }],
      ['frame', { data: frame(TCP) }],
    ]),
  },
  {
    object: 'coll-bpfeb', flags: ['-target', 'bpfeb'],
    runs: runs('xdp_be', [['tcp', { data: frame(TCP) }], ['odd', { data: Uint8Array.from([0x31, 2, 3, 5, ...new Array<number>(60).fill(1)]) }], ['even', { data: Uint8Array.from([0x32, 200, 100, 4, ...new Array<number>(60).fill(1)]) }]]),
  },
  { object: 'coll-core-skb', runs: runs('core_mask', [['mask', { data: frame(TCP) }]]) },
];

/** Map types whose values are fds or ids (they differ between backends by nature): compared by their slots' presence only. */
const FD_MAPS = new Set<number>([MapType.BPF_MAP_TYPE_PROG_ARRAY, MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, MapType.BPF_MAP_TYPE_HASH_OF_MAPS]);

function errnoOf(e: unknown): number {
  const n = (e as { errno?: unknown }).errno;
  if (typeof n !== 'number') throw e;
  return n;
}

/** Loads one case into a backend, makes its runs in order, then snapshots every map. */
export async function runCase<M extends BpfMap, P extends BpfProgram>(
  c: HeldoutCase, bytes: Uint8Array | CollectionSpec, backend: CollectionBackend<M, P>, info: (m: M) => { name: string; type: number; keySize: number; valueSize: number; maxEntries: number; flags: number },
): Promise<CaseOutcome> {
  using coll: Collection<M, P> = loadCollection(bytes, backend, { name: c.object, ...c.options });
  const out: CaseOutcome = { runs: [], maps: {} };
  for (const r of c.runs) {
    try {
      const res = await coll.program(r.program).testRun(r.input);
      const o: RunOutcome = { label: r.label, retval: res.retval, dataOut: hex(res.dataOut) };
      if (res.ctxOut) o.ctxOut = hex(res.ctxOut);
      out.runs.push(o);
    } catch (e) {
      out.runs.push({ label: r.label, errno: errnoOf(e) });
    }
  }
  for (const [name, m] of coll.maps) {
    const entries: [string, string][] = [];
    try {
      for await (const [k, v] of m.entries()) entries.push([hex(k), FD_MAPS.has(m.spec.type) ? 'fd' : hex(v)]);
    } catch (e) {
      // A map user space cannot walk (socket storage: get_next_key is ENOTSUPP): the errno is its dump.
      entries.push(['walk', `errno ${errnoOf(e)}`]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out.maps[name] = { ...info(m), entries };
  }
  return out;
}
