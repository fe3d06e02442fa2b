/** The kernel's BPF selftest objects (socket filter, tc, XDP) built from Debian's linux-source tarball, the test-run inputs, and one program's run on a backend. */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ProgType, VerifierError, type BpfMap, type BpfProgram, type CollectionBackend, type TestRunOptions } from '../../../src/ebpf/index.js';
import { loadCollection } from '../../../src/elf/index.js';
import { readCapture } from '../../../src/pcap/index.js';
import { corpusDir, repoRoot } from '../../helpers/reference.js';

/** The program types the bar names: socket filter, tc (classifier and action) and XDP. */
export const PACKET_TYPES: ReadonlySet<number> = new Set([
  ProgType.BPF_PROG_TYPE_SOCKET_FILTER, ProgType.BPF_PROG_TYPE_SCHED_CLS, ProgType.BPF_PROG_TYPE_SCHED_ACT, ProgType.BPF_PROG_TYPE_XDP,
]);

/** The newest linux-source tarball Debian's `linux-source-X.Y` package put in /usr/src, if any. */
export function selftestsTarball(): string | undefined {
  if (process.env.BPFKIT_SELFTESTS_TARBALL) return process.env.BPFKIT_SELFTESTS_TARBALL;
  const names = existsSync('/usr/src') ? readdirSync('/usr/src').filter((n) => /^linux-source-[\d.]+\.tar\.xz$/.test(n)) : [];
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return names.length ? path.join('/usr/src', names[names.length - 1]) : undefined;
}

/** What the build script made: the object paths, and the sources that did not compile (with clang's first error). */
export interface SelftestBuild {
  dir: string;
  objects: string[];
  failed: { name: string; error: string }[];
}

/** Runs test/kernel/helpers/build-selftests.sh (extracts, generates vmlinux.h, compiles what is not cached). */
export function buildSelftests(): SelftestBuild {
  const script = path.join(repoRoot, 'test/kernel/helpers/build-selftests.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  const dir = out.trim().split('\n').pop()!;
  const failedNames = readFileSync(path.join(dir, 'failed.txt'), 'utf8').split('\n').filter(Boolean);
  const failed = failedNames.map((name) => {
    const log = readFileSync(path.join(dir, `${name}.err`), 'utf8');
    return { name, error: log.split('\n').find((l) => l.includes('error:')) ?? log.split('\n')[0] ?? '' };
  });
  const objects = readdirSync(dir).filter((n) => n.endsWith('.o')).sort().map((n) => path.join(dir, n));
  return { dir, objects, failed };
}

// struct ipv4_packet / ipv6_packet of the selftests' network_helpers.c: zero MACs, an IP header with
// only ihl (v4), the protocol and a length of MAGIC_BYTES (123) set, a TCP header with doff 5, urg_ptr 123.
const TCP_HDR = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 123, 0];
/** The selftests' `pkt_v4` (54 bytes). */
export const PKT_V4 = Uint8Array.from([...new Array<number>(12).fill(0), 0x08, 0x00, 0x05, 0, 0, 123, ...new Array<number>(5).fill(0), 6, ...new Array<number>(10).fill(0), ...TCP_HDR]);
/** The selftests' `pkt_v6` (74 bytes). */
export const PKT_V6 = Uint8Array.from([...new Array<number>(12).fill(0), 0x86, 0xdd, 0, 0, 0, 0, 0, 123, 6, 0, ...new Array<number>(32).fill(0), ...TCP_HDR]);

/** First packets of captures in ../shared/corpus/pcaps (all Ethernet): UDP, TCP, IPv6, QinQ, 802.1Q, ARP, ICMP, MPLS, a 4 KB frame. */
const PCAP_INPUTS: readonly string[] = [
  'dns_udp.pcap', 'dns_tcp.pcap', 'dhcpv6-ia-na.pcap', '802.1ad_QinQ.pcap', 'bfd_source_port_49152.pcap', 'arp-oobr.pcap',
  'icmp-rfc8335.pcap', 'icmp6-rfc8335.pcap', 'tok2str-oobr-2.pcap', 'gso-ipv4-vxlan-ipv6.pcap',
];

/** One test run's input. */
export interface SelftestInput {
  label: string;
  input: TestRunOptions;
}

/** `__sk_buff` in with mark, priority and cb[0..1] set (fields a test run takes). */
function skbCtx(): Uint8Array {
  const c = new Uint8Array(192);
  const v = new DataView(c.buffer);
  v.setUint32(8, 7, true); // mark
  v.setUint32(32, 3, true); // priority
  v.setUint32(48, 0x11223344, true); // cb[0]
  v.setUint32(52, 5, true); // cb[1]
  return c;
}

let pcapInputs: SelftestInput[] | undefined;

/**
 * The inputs every program of the given type is run with, in order: the selftests' own packets (pkt_v4,
 * pkt_v6, test_loader's 64 zero bytes), capture packets, truncated packets (one shorter than an Ethernet
 * header, which the kernel refuses), and for skb programs pkt_v4 with a `__sk_buff` in.
 */
export function selftestInputs(type: number): SelftestInput[] {
  pcapInputs ??= PCAP_INPUTS.map((f) => {
    const cap = readCapture(new Uint8Array(readFileSync(path.join(corpusDir, 'pcaps/tcpdump-tests', f))));
    const p = cap.packets[0];
    if (!p || p.linkType !== 1) throw new Error(`${f}: the first packet is not Ethernet`);
    return { label: f, input: { data: p.data.slice() } };
  });
  const inputs: SelftestInput[] = [
    { label: 'pkt_v4', input: { data: PKT_V4 } },
    { label: 'pkt_v6', input: { data: PKT_V6 } },
    { label: '64 zero bytes', input: { data: new Uint8Array(64) } },
    ...pcapInputs,
    { label: 'pkt_v4 cut to 14', input: { data: PKT_V4.slice(0, 14) } },
    { label: 'pkt_v4 cut to 30', input: { data: PKT_V4.slice(0, 30) } },
    { label: 'pkt_v6 cut to 40', input: { data: PKT_V6.slice(0, 40) } },
    { label: '13 bytes', input: { data: PKT_V4.slice(0, 13) } },
    { label: 'pkt_v4 repeat 3', input: { data: PKT_V4, repeat: 3 } },
  ];
  if (type !== ProgType.BPF_PROG_TYPE_XDP) inputs.push({ label: 'pkt_v4 with __sk_buff', input: { data: PKT_V4, ctx: skbCtx() } });
  return inputs;
}

/** A run's result on one backend, or the errno it was refused with, or the error that is neither. */
export interface SelftestOutcome {
  retval?: number;
  dataOut?: string;
  errno?: number;
  error?: string;
}

/** One program loaded (with the object's maps and the programs its prog arrays name) on one backend, then run with each input. */
export interface ProgramRun {
  /** Set when the load failed: the one-line error. */
  loadError?: string;
  /** True when the load failed in the VM's verifier (not in map creation or the VM's own checks). */
  verifierRejected?: boolean;
  outcomes: SelftestOutcome[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The first line of an error's message, at most 300 characters. */
export const oneLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

/**
 * Loads `programs` of the object (the first is the one run; the others are what its prog arrays
 * name) through loadCollection and makes every run in order (map state carries over, as in the kernel).
 */
export async function runProgram<M extends BpfMap, P extends BpfProgram>(
  bytes: Uint8Array, name: string, programs: readonly string[], inputs: readonly SelftestInput[], backend: CollectionBackend<M, P>,
): Promise<ProgramRun> {
  let coll;
  try {
    coll = loadCollection(bytes, backend, { name, programs });
  } catch (e) {
    return { loadError: oneLine(e), verifierRejected: e instanceof VerifierError, outcomes: [] };
  }
  try {
    const prog = coll.program(programs[0]);
    const outcomes: SelftestOutcome[] = [];
    for (const { input } of inputs) {
      try {
        const r = await prog.testRun(input);
        outcomes.push({ retval: r.retval, dataOut: hex(r.dataOut) });
      } catch (e) {
        const errno = (e as { errno?: unknown }).errno;
        outcomes.push(typeof errno === 'number' ? { errno } : { error: oneLine(e) });
      }
    }
    return { outcomes };
  } finally {
    coll.close();
  }
}
