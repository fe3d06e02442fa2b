/** The libpcap reference: a wrapper around test/reference/native/libpcap-ref.c that batches many requests through one process. */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { insn, type Insn } from '../../src/cbpf/index.js';
import { buildNative } from './native.js';
import { corpusDir, hasCommand, isRoot } from './reference.js';

/** Why the libpcap reference cannot run here, or undefined when it can. */
export function libpcapMissing(): string | undefined {
  if (!hasCommand('gcc')) return 'gcc not installed';
  if (!existsSync('/usr/include/pcap/pcap.h')) return 'libpcap-dev (pcap/pcap.h) not installed';
  return undefined;
}

let exe: string | undefined;
function helper(): string {
  exe ??= buildNative('libpcap-ref', ['-lpcap']);
  return exe;
}

/**
 * libpcap's test names (`*.libpcap.test` in hosts, ethers and networks, from the corpus's
 * libpcap-test-names.json) installed for the helper only: its own mount namespace sees a
 * read-only overlay of /etc holding them (and `files` as the only name service, so a name the
 * tables lack fails at once instead of waiting on DNS). Needs root and overlayfs; undefined when
 * that is not possible here, with the reason in {@link libpcapNamesMissing}.
 */
let overlay: { dir?: string; why?: string } | undefined;
function namesOverlay(): { dir?: string; why?: string } {
  if (overlay) return overlay;
  const names = path.join(corpusDir, 'pcap-filter/libpcap-test-names.json');
  if (!existsSync(names)) return (overlay = { why: 'libpcap-test-names.json not found' });
  if (!isRoot() || !hasCommand('unshare')) return (overlay = { why: 'installing the *.libpcap.test names for libpcap needs root and unshare' });
  const t = JSON.parse(readFileSync(names, 'utf8')) as { hosts: { addr: string; name: string }[]; ethers: { mac: string; name: string }[]; networks: { net: string; name: string }[] };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-libpcap-names-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const keep = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  writeFileSync(path.join(dir, 'hosts'), keep('/etc/hosts') + t.hosts.map((h) => `${h.addr} ${h.name}\n`).join(''));
  writeFileSync(path.join(dir, 'ethers'), t.ethers.map((e) => `${e.mac} ${e.name}\n`).join(''));
  writeFileSync(path.join(dir, 'networks'), keep('/etc/networks') + t.networks.map((n) => `${n.name} ${n.net}\n`).join(''));
  writeFileSync(path.join(dir, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files\nnetworks: files\nethers: files\nprotocols: files\nservices: files\n');
  try {
    const got = execFileSync('unshare', ['--mount', 'sh', '-c', OVERLAY_SCRIPT, 'sh', dir, 'getent', 'hosts', t.hosts[0].name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (!got.includes(t.hosts[0].addr)) return (overlay = { why: 'the /etc overlay did not resolve the test names' });
  } catch (e) {
    return (overlay = { why: `cannot overlay /etc in a mount namespace: ${(e as Error).message.split('\n')[0]}` });
  }
  return (overlay = { dir });
}

// Run in a fresh mount namespace: overlay /etc with the names directory, then exec the command.
const OVERLAY_SCRIPT = 'mount -t overlay overlay -o "lowerdir=$1:/etc" /etc && shift && exec "$@"';

/** Why libpcap cannot see the `*.libpcap.test` names here, or undefined when every helper run has them. */
export function libpcapNamesMissing(): string | undefined {
  return namesOverlay().why;
}

/** Options of a compile: as `pcap_open_dead(linkType, snaplen)` + `pcap_compile(expr, optimize, netmask)`. */
export interface CompileOptions {
  /** A DLT name as `pcap_datalink_name_to_val` takes it (`EN10MB`), or its number. */
  linkType: string | number;
  /** Default 262144, as tcpdump. */
  snaplen?: number;
  /** Default true. */
  optimize?: boolean;
  /** Dotted quad; default PCAP_NETMASK_UNKNOWN. */
  netmask?: string;
}

/** A compile result: libpcap's program, or its error message. */
export type CompileResult = { ok: true; insns: Insn[] } | { ok: false; error: string };

/** Per-packet `pcap_offline_filter` values, plus the read error that ended the file early (if any). */
export type FilterResult = { ok: true; values: number[]; readError: string } | { ok: false; error: string };

/** One packet as libpcap reads it. */
export interface RefPacket {
  data: Uint8Array;
  wirelen: number;
}

/** A capture as libpcap reads it. */
export type PacketsResult = { ok: true; linkType: number; snaplen: number; packets: RefPacket[]; readError: string } | { ok: false; error: string };

function clean(s: string): string {
  if (/[\t\n]/.test(s)) throw new Error(`libpcap-ref: field contains a tab or newline: ${JSON.stringify(s)}`);
  return s;
}

function progField(insns: readonly Insn[]): string {
  return [insns.length, ...insns.flatMap((i) => [i.code, i.jt, i.jf, i.k >>> 0])].join(' ');
}

function parseProg(s: string): Insn[] {
  const f = s.trim().split(' ').map(Number);
  const out: Insn[] = [];
  // Small-integer fields, as insn() makes them (a double-typed field slows every engine's reads).
  for (let i = 0; i < f[0]; i++) out.push(insn(f[1 + 4 * i], f[4 + 4 * i], f[2 + 4 * i], f[3 + 4 * i]));
  return out;
}

/** Sends request lines to one helper process and splits its output into one block per request. */
function run(lines: string[], multiline: boolean[]): string[][] {
  if (lines.length === 0) return [];
  const names = namesOverlay().dir;
  const [cmd, args] = names === undefined ? [helper(), []] : ['unshare', ['--mount', 'sh', '-c', OVERLAY_SCRIPT, 'sh', names, helper()]];
  const out = execFileSync(cmd, args, { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 30 });
  const all = out.split('\n');
  const blocks: string[][] = [];
  let at = 0;
  for (let r = 0; r < lines.length; r++) {
    const block: string[] = [all[at++]];
    if (multiline[r] && !block[0].startsWith('err\t')) {
      while (at < all.length && !all[at].startsWith('end')) block.push(all[at++]);
      block.push(all[at++]);
    }
    blocks.push(block);
  }
  return blocks;
}

/** Filter expressions treat tabs and newlines as blanks, so they travel as spaces. */
const exprField = (e: string): string => e.replace(/[\t\r\n]/g, ' ');

const netmaskField = (m: string | undefined): string => clean(m ?? '-');

/** Compiles many expressions in one process. */
export function libpcapCompileMany(items: readonly { expr: string; options: CompileOptions }[]): CompileResult[] {
  const lines = items.map(({ expr, options: o }) =>
    ['compile', clean(String(o.linkType)), String(o.snaplen ?? 262144), o.optimize === false ? '0' : '1', netmaskField(o.netmask), exprField(expr)].join('\t'),
  );
  return run(lines, lines.map(() => false)).map(([l]) => (l.startsWith('ok\t') ? { ok: true, insns: parseProg(l.slice(3)) } : { ok: false, error: l.slice(4) }));
}

/**
 * Times `pcap_compile` inside the helper: each expression compiled `reps` times; nanoseconds
 * per compile and the program length, or libpcap's error. One process for all of them.
 */
export function libpcapCompileTimeMany(items: readonly { expr: string; options: CompileOptions }[], reps: number): ({ ok: true; nsPerCompile: number; length: number } | { ok: false; error: string })[] {
  const lines = items.map(({ expr, options: o }) =>
    ['ctime', clean(String(o.linkType)), String(o.snaplen ?? 262144), o.optimize === false ? '0' : '1', netmaskField(o.netmask), String(reps), exprField(expr)].join('\t'),
  );
  return run(lines, lines.map(() => false)).map(([l]) => {
    if (!l.startsWith('ok\t')) return { ok: false, error: l.slice(4) };
    const [, ns, len] = l.split('\t');
    return { ok: true, nsPerCompile: Number(ns), length: Number(len) };
  });
}

/** `pcap_compile` of one expression on a dead handle. */
export function libpcapCompile(expr: string, options: CompileOptions): CompileResult {
  return libpcapCompileMany([{ expr, options }])[0];
}

/** What to filter a capture with: a program, or an expression compiled against the opened file (its DLT and snaplen). */
export type FilterRequest = { file: string; insns: readonly Insn[] } | { file: string; expr: string; optimize?: boolean; netmask?: string };

function parseFilter(l: string): FilterResult {
  if (!l.startsWith('ok\t')) return { ok: false, error: l.slice(4) };
  const [, vals, err] = l.split('\t');
  return { ok: true, values: vals === '' ? [] : vals.split(' ').map(Number), readError: err ?? '' };
}

/** Runs `pcap_offline_filter` over every packet of each capture, in one process. */
export function libpcapFilterMany(reqs: readonly FilterRequest[]): FilterResult[] {
  const lines = reqs.map((r) =>
    'insns' in r ? ['filter', clean(r.file), progField(r.insns)].join('\t') : ['filterx', clean(r.file), r.optimize === false ? '0' : '1', netmaskField(r.netmask), exprField(r.expr)].join('\t'),
  );
  return run(lines, lines.map(() => false)).map(([l]) => parseFilter(l));
}

/**
 * Per-packet `pcap_offline_filter` values of a program (or of an expression compiled against the
 * file) over a capture file. Throws libpcap's message when the file or expression is rejected;
 * a file damaged midway gives the values of the packets before the damage.
 */
export function libpcapFilter(program: readonly Insn[] | string, captureFile: string): number[] {
  const r = libpcapFilterMany([typeof program === 'string' ? { file: captureFile, expr: program } : { file: captureFile, insns: program }])[0];
  if (!r.ok) throw new Error(`libpcap: ${r.error}`);
  return r.values;
}

/** The packets of many captures as libpcap reads them (caplen bytes and wire length). */
export function libpcapPacketsMany(files: readonly string[]): PacketsResult[] {
  const lines = files.map((f) => `packets\t${clean(f)}`);
  return run(lines, lines.map(() => true)).map((block): PacketsResult => {
    if (!block[0].startsWith('ok\t')) return { ok: false, error: block[0].slice(4) };
    const [, lt, snap] = block[0].split('\t');
    const packets = block.slice(1, -1).map((l) => {
      const [, , wire, hex] = l.split('\t');
      return { data: Uint8Array.from(Buffer.from(hex, 'hex')), wirelen: Number(wire) };
    });
    return { ok: true, linkType: Number(lt), snaplen: Number(snap), packets, readError: block[block.length - 1].slice(4) };
  });
}

/** libpcap's `bpf_dump(prog, option)` text (1 = `-d`, 2 = `-dd`, 3 = `-ddd`), for many programs. */
export function libpcapDumpMany(items: readonly { insns: readonly Insn[]; option: 1 | 2 | 3 }[]): string[] {
  const lines = items.map((i) => ['dump', String(i.option), progField(i.insns)].join('\t'));
  return run(lines, lines.map(() => true)).map((block) => block.slice(0, -1).map((l) => l + '\n').join(''));
}

/** libpcap's `bpf_validate` verdicts for many programs. */
export function libpcapValidateMany(progs: readonly (readonly Insn[])[]): boolean[] {
  const lines = progs.map((p) => `validate\t${progField(p)}`);
  return run(lines, lines.map(() => false)).map(([l]) => l === 'ok\t1');
}

/** libpcap's `bpf_filter` on single buffers (the program must be one libpcap does not abort on). */
export function libpcapRunMany(items: readonly { insns: readonly Insn[]; packet: Uint8Array; wirelen: number }[]): number[] {
  const lines = items.map((i) => ['run', String(i.wirelen), Buffer.from(i.packet).toString('hex'), progField(i.insns)].join('\t'));
  return run(lines, lines.map(() => false)).map(([l]) => {
    if (!l.startsWith('ok\t')) throw new Error(`libpcap-ref: ${l}`);
    return Number(l.slice(3));
  });
}

/** Times libpcap's `bpf_filter` over every packet of a capture, `reps` times: ns per packet and a checksum of the results. */
export function libpcapTime(insns: readonly Insn[], captureFile: string, reps: number): { nsPerPacket: number; checksum: number } {
  const [[l]] = run([['time', clean(captureFile), String(reps), progField(insns)].join('\t')], [false]);
  if (!l.startsWith('ok\t')) throw new Error(`libpcap-ref: ${l}`);
  const [, ns, sum] = l.split('\t');
  return { nsPerPacket: Number(ns), checksum: Number(sum) };
}

/** One packet set (the packets of several captures, in order) and the programs to run over it. */
export interface FilterSetRequest {
  files: readonly string[];
  programs: readonly (readonly Insn[])[];
}

/**
 * For each set: loads the captures' packets once, then runs every program over all of them
 * with `pcap_offline_filter`. Returns per set the packet count of each file and, per program,
 * the values for every packet (files concatenated in order). One process for everything.
 */
export function libpcapFilterSets(sets: readonly FilterSetRequest[]): { counts: number[]; values: number[][] }[] {
  const lines: string[] = [];
  for (const s of sets) {
    lines.push('setclear');
    for (const f of s.files) lines.push(`setadd\t${clean(f)}`);
    for (const p of s.programs) lines.push(`setfilter\t${progField(p)}`);
  }
  const blocks = run(lines, lines.map(() => false));
  let at = 0;
  return sets.map((s) => {
    at++;
    const counts = s.files.map(() => {
      const l = blocks[at++][0];
      return l.startsWith('ok\t') ? Number(l.split('\t')[1]) : 0;
    });
    const values = s.programs.map(() => {
      const l = blocks[at++][0];
      if (!l.startsWith('ok\t')) throw new Error(`libpcap-ref: ${l}`);
      const v = l.slice(3);
      return v === '' ? [] : v.split(' ').map(Number);
    });
    return { counts, values };
  });
}

/** `pcap_datalink_name_to_val` for many names (-1 for a name libpcap does not know). */
export function libpcapDltValues(names: readonly string[]): number[] {
  const lines = names.map((n) => `dlt\t${clean(n)}`);
  return run(lines, lines.map(() => false)).map(([l]) => Number(l.slice(3)));
}

/** The Linux kernel's verdict on each program: 0 when SO_ATTACH_FILTER (or seccomp, in a child process) accepts it, else the errno. */
export function kernelCheckMany(mode: 'socket' | 'seccomp', progs: readonly (readonly Insn[])[]): number[] {
  const lines = progs.map((p) => `kcheck\t${mode}\t${progField(p)}`);
  return run(lines, lines.map(() => false)).map(([l]) => Number(l.slice(3)));
}

/**
 * Installs each seccomp filter in a child process and makes one system call under it: the
 * install errno (0 = installed) and the errno the call got (-1 when it succeeded, -2 when the
 * filter killed the process).
 */
export function kernelSeccompMany(items: readonly { insns: readonly Insn[]; nr: number; args: readonly bigint[] }[]): { install: number; errno: number }[] {
  const lines = items.map((i) => ['kseccomp', String(i.nr), Array.from({ length: 6 }, (_, j) => BigInt.asUintN(64, i.args[j] ?? 0n).toString()).join(' '), progField(i.insns)].join('\t'));
  return run(lines, lines.map(() => false)).map(([l]) => {
    if (!l.startsWith('ok\t')) throw new Error(`libpcap-ref: ${l}`);
    const [, install, errno] = l.split('\t');
    return { install: Number(install), errno: Number(errno) };
  });
}
