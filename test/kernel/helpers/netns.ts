/** A pair of private network namespaces joined by a veth pair, created and removed by a test (needs root and iproute2). */

import { execFileSync } from 'node:child_process';
import type { ExecFileSyncOptions } from 'node:child_process';

/** Two namespaces `a` and `b`, veth `vethA` (in a, address `ipA`) to `vethB` (in b, address `ipB`). */
export interface VethPair {
  a: string;
  b: string;
  vethA: string;
  vethB: string;
  ipA: string;
  ipB: string;
  /** Runs a command inside namespace `ns` (sync); returns stdout. */
  exec(ns: string, cmd: string, args: string[], options?: ExecFileSyncOptions): string;
  /** Deletes both namespaces (and so the veth pair). */
  cleanup(): void;
}

const ip = (args: string[]): void => {
  execFileSync('ip', args, { stdio: 'pipe' });
};

/** Creates the namespaces and the veth pair, both ends up, with addresses in a /24 derived from `tag` (so parallel runs differ). */
export function createVethPair(tag: number = process.pid): VethPair {
  const id = tag % 100000;
  const a = `bpfkit-${id}-a`;
  const b = `bpfkit-${id}-b`;
  const vethA = `bkva${id}`;
  const vethB = `bkvb${id}`;
  const net = `10.254.${tag % 250}`;
  const pair: VethPair = {
    a, b, vethA, vethB, ipA: `${net}.1`, ipB: `${net}.2`,
    exec: (ns, cmd, args, options = {}) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', ...options }).toString(),
    cleanup() {
      for (const ns of [a, b]) {
        try {
          ip(['netns', 'del', ns]);
        } catch {
          // already gone
        }
      }
    },
  };
  try {
    ip(['netns', 'add', a]);
    ip(['netns', 'add', b]);
    ip(['-n', a, 'link', 'add', vethA, 'type', 'veth', 'peer', 'name', vethB, 'netns', b]);
    ip(['-n', a, 'addr', 'add', `${pair.ipA}/24`, 'dev', vethA]);
    ip(['-n', b, 'addr', 'add', `${pair.ipB}/24`, 'dev', vethB]);
    for (const [ns, dev] of [[a, vethA], [b, vethB], [a, 'lo'], [b, 'lo']]) ip(['-n', ns, 'link', 'set', dev, 'up']);
  } catch (e) {
    pair.cleanup();
    throw e;
  }
  return pair;
}

/** Packets received per `ping -c N` (parsed from its summary line). */
export function pingReceived(output: string): number {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  if (!m) throw new Error(`no ping summary in: ${output}`);
  return Number(m[2]);
}
