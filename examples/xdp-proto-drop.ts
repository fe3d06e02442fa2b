/**
 * An XDP program that counts IPv4 packets by protocol and drops the protocols you name.
 *
 *   sudo npx tsx examples/xdp-proto-drop.ts --iface DEV [--drop icmp,udp] [--mode skb|native] [--duration SECONDS]
 *
 * Prints "attached", then on Ctrl-C (or after the duration) one line per protocol seen:
 * PROTO, PACKETS, and whether they were dropped.
 */

import { parseArgs } from 'node:util';
import { MapType, ProgType, ProgramBuilder, R0, R1, R2, R3, R4, R5, R6, R10 } from '../src/ebpf/index.js';
import type { ProgramSpec } from '../src/ebpf/index.js';
import { Kernel, attachXdp } from '../src/kernel/index.js';
import type { XdpMode } from '../src/kernel/index.js';
import { runUntilStopped, u32, u32Key, u64 } from './lib/common.js';

/** IP protocol numbers by name (IANA). */
const PROTOCOLS: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, sctp: 132 };
const NAMES = new Map(Object.entries(PROTOCOLS).map(([k, v]) => [v, k]));
const XDP_DROP = 1;
const XDP_PASS = 2;

/** counts[ip proto] += 1; XDP_DROP when drop[ip proto] is set, else XDP_PASS. Non-IPv4 frames pass uncounted. */
function protoDropSpec(): ProgramSpec {
  const insns = new ProgramBuilder()
    .ldxw(R2, R1, 0).ldxw(R3, R1, 4).mov64(R4, R2).add64(R4, 34).jgt(R4, R3, 'pass') // xdp_md: data, data_end
    .ldxh(R5, R2, 12).jne(R5, 0x0008, 'pass') // ethertype 0x0800, read little-endian
    .ldxb(R5, R2, 23).stw(R10, -4, R5) // the IPv4 protocol byte
    .ldMap(R1, 'counts').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'verdict')
    .mov64(R1, 1).atomic('add', 64, R0, 0, R1)
    .label('verdict').ldMap(R1, 'drop').mov64(R2, R10).add64(R2, -4).call('map_lookup_elem').jeq(R0, 0, 'pass')
    .ldxw(R6, R0, 0).jeq(R6, 0, 'pass')
    .mov64(R0, XDP_DROP).exit()
    .label('pass').mov64(R0, XDP_PASS).exit()
    .build();
  return {
    name: 'xdp_proto_drop', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL', insns,
    maps: [
      { name: 'counts', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 256 },
      { name: 'drop', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 256 },
    ],
  };
}

function protocolNumber(name: string): number {
  const n = PROTOCOLS[name.toLowerCase()] ?? (/^\d+$/.test(name) ? Number(name) : NaN);
  if (!(n >= 0 && n < 256)) throw new Error(`unknown protocol "${name}" (known: ${Object.keys(PROTOCOLS).join(', ')} or a number)`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { iface: { type: 'string' }, drop: { type: 'string' }, mode: { type: 'string' }, duration: { type: 'string' } } });
  if (!values.iface) throw new Error('usage: xdp-proto-drop.ts --iface DEV [--drop icmp,udp] [--mode skb|native] [--duration SECONDS]');
  const dropped = new Set((values.drop ?? '').split(',').filter(Boolean).map(protocolNumber));
  const kernel = await Kernel.open();
  using prog = kernel.load(protoDropSpec());
  const dropMap = prog.maps.get('drop')!;
  for (const p of dropped) dropMap.set(u32Key(p), u32Key(1));
  {
    using _link = attachXdp(kernel.sys, prog, values.iface, (values.mode ?? 'skb') as XdpMode);
    const stopped = runUntilStopped(values.duration !== undefined ? Number(values.duration) : undefined);
    console.log(`attached to ${values.iface}, dropping ${[...dropped].map((p) => NAMES.get(p) ?? p).join(',') || 'nothing'}`);
    await stopped;
  }
  console.log(`${'PROTO'.padEnd(8)} ${'PACKETS'.padStart(8)}  ACTION`);
  for await (const [k, v] of prog.maps.get('counts')!.entries()) {
    const p = u32(k);
    const n = u64(v);
    if (n > 0n) console.log(`${(NAMES.get(p) ?? String(p)).padEnd(8)} ${String(n).padStart(8)}  ${dropped.has(p) ? 'dropped' : 'passed'}`);
  }
}

await main();
