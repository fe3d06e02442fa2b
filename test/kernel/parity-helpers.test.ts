// Kernel parity of the helpers and context the VM added (strtol/strtoul, skb_vlan_push/pop, socket lookups against a real listener, get_hash_recalc, csum_update, get_cgroup_classid, get_current_task, skb_change_proto/head, skb->sk, sk_fullsock, sk_storage_get, packet pointer bits, cgroup storage), through loadCollection on one clang object.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmBackend, type HostSocket, type SocketTuple, type VmMap } from '../../src/ebpf/index.js';
import { Kernel, type KernelMap } from '../../src/kernel/index.js';
import { clangSkip, fixtureBuilder } from '../elf/clang.js';
import { arp, frame, runCase, type HeldoutCase } from '../elf/heldout-cases.js';
import { kernelSkip } from './helpers/kernel.js';

const why = (await kernelSkip('helper parity')) ?? clangSkip('helper parity');

const ETH = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0];
/** A frame whose bytes after Ethernet are: base, length, the text padded to 32 bytes. */
const strtoxFrame = (base: number, text: string, len = text.length): Uint8Array =>
  Uint8Array.from([...ETH, base, len, ...Buffer.from(text.padEnd(32, '\0'), 'latin1')]);
/** A frame carrying an IPv4 socket tuple after Ethernet: saddr, daddr, sport, dport. */
const tupleFrame = (dport: number): Uint8Array => Uint8Array.from([...ETH, 127, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, dport >> 8, dport & 0xff, ...new Array<number>(40).fill(0)]);

/** An IPv6 UDP frame (payload 8 bytes) from fd00::1 to fd00::2. */
const ipv6Frame = (): Uint8Array => Uint8Array.from([
  ...ETH.slice(0, 12), 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64,
  0xfd, ...new Array<number>(14).fill(0), 1, 0xfd, ...new Array<number>(14).fill(0), 2, 0x9c, 0x40, 0, 53, 0, 8, 0, 0,
]);
/** `__sk_buff` in with only the mark set. */
const markCtx = (mark: number): Uint8Array => {
  const c = new Uint8Array(192);
  new DataView(c.buffer).setUint32(8, mark, true);
  return c;
};

describe.skipIf(why !== undefined)('kernel parity: added helpers', () => {
  const b = fixtureBuilder();
  let kernel: Kernel;
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    kernel = await Kernel.open();
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    b.cleanup();
  });

  // The VM's host knows the one listening socket the kernel has at 127.0.0.1:port.
  const lookupSocket = (t: SocketTuple): HostSocket | undefined =>
    t.family === 2 && t.protocol === 6 && t.dstPort === port && t.dstIp.join('.') === '127.0.0.1'
      ? { family: 2, type: 1, protocol: 6, srcIp4: 0x0100007f, srcPort: port, state: 10 } : undefined;

  it('every run and the .bss results equal the kernel\'s, in both engines', async () => {
    const c: HeldoutCase = {
      object: 'parity-helpers',
      runs: [
        ...([
          [10, '  -123abc'], [0, '0x1f!'], [0, '0777'], [16, '0XfF'], [10, '99999999999999999999'], [10, '-9223372036854775808'],
          [10, '-9223372036854775809'], [10, '18446744073709551615'], [10, '-'], [10, 'abc'], [0, '0x'], [10, '+5'], [8, '778'], [7, '1'],
          [10, '12', 1], [10, '\t\n 42'], [16, '-0x10'], [10, '9223372036854775808'],
        ] as [number, string, number?][]).map(([base, text, len]) => ({ program: 'h_strtox', label: `strtox ${base} ${JSON.stringify(text)}`, input: { data: strtoxFrame(base, text, len) } })),
        { program: 'h_vlan', label: 'vlan push/pop, untagged', input: { data: frame(6) } },
        { program: 'h_vlan', label: 'vlan push/pop, tagged', input: { data: frame(17, 53, { vlan: 9 }) } },
        { program: 'h_vlan_pop', label: 'vlan pop of an in-data tag', input: { data: frame(17, 53, { vlan: 9 }) } },
        { program: 'h_vlan_pop', label: 'vlan pop, untagged', input: { data: frame(6) } },
        { program: 'h_misc', label: 'hash, csum, classid', input: { data: frame(6, 80) } },
        { program: 'h_misc', label: 'hash again: same flow, same hash', input: { data: frame(6, 80) } },
        { program: 'h_sk_lookup', label: 'lookup the listener', input: { data: tupleFrame(port) } },
        { program: 'h_sk_lookup', label: 'lookup a port nobody has', input: { data: tupleFrame(port === 1 ? 2 : 1) } },
        { program: 'h_task', label: 'current task', input: { ctx: new Uint8Array(16) } },
        { program: 'h_pkt_ptr', label: 'skb packet pointer bits', input: { data: frame(6) } },
        { program: 'h_pkt_ptr', label: 'skb packet pointer bits, a 1 KB frame', input: { data: frame(17, 53, { pad: 1000 }) } },
        { program: 'h_xdp_ptr', label: 'xdp packet pointer bits', input: { data: frame(6) } },
        { program: 'h_skb_sk', label: 'skb->sk of an IPv4 packet', input: { data: frame(6) } },
        { program: 'h_skb_sk', label: 'skb->sk of an IPv6 packet', input: { data: ipv6Frame() } },
        { program: 'h_skb_sk', label: 'skb->sk of ARP', input: { data: arp() } },
        { program: 'h_change_head', label: 'change_head', input: { data: frame(17, 53) } },
        { program: 'h_change_proto', label: 'change_proto 4 to 6 and back', input: { data: frame(6) } },
        { program: 'h_change_proto', label: 'change_proto 4 to 6', input: { data: frame(6), ctx: markCtx(1) } },
        { program: 'h_change_proto', label: 'change_proto 6 to 4 and back', input: { data: ipv6Frame() } },
        { program: 'h_change_proto', label: 'change_proto of ARP', input: { data: arp() } },
        { program: 'h_csum_diff', label: 'csum_diff pull, push, diff, seeds', input: { data: frame(6) } },
        { program: 'h_csum_diff', label: 'csum_diff of zero bytes', input: { data: new Uint8Array(64) } },
        { program: 'h_sk_storage', label: 'sk_fullsock and sk_storage_get on skb->sk', input: { data: frame(6) } },
      ],
    };
    const bytes = b.build(c.object).bytes;
    const k = await runCase(c, bytes, kernel, (m: KernelMap) => ({ name: m.info().name, type: m.info().type, keySize: m.info().keySize, valueSize: m.info().valueSize, maxEntries: m.info().maxEntries, flags: m.info().mapFlags }));
    delete k.maps.seeded_hash;
    for (const engine of ['interp', 'jit'] as const) {
      const v = await runCase(c, bytes, vmBackend({ engine, host: { lookupSocket } }), (m: VmMap) => ({ name: m.spec.name, type: m.spec.type, keySize: m.spec.keySize, valueSize: m.spec.valueSize, maxEntries: m.spec.maxEntries, flags: m.spec.flags ?? 0 }));
      delete v.maps.seeded_hash;
      expect(v, engine).toEqual(k);
    }
    // The lookup really found the listener (family AF_INET, SOCK_STREAM, TCP, LISTEN) in the kernel.
    expect(k.runs.find((r) => r.label === 'lookup the listener')!.retval).toBe(1);
    expect(k.runs.find((r) => r.label === 'lookup a port nobody has')!.retval).toBe(2);
    // The kernel's skb data sits 0x40 into its buffer, XDP's 0x100 (so the low byte is 0); change_head pushed 14 zero bytes.
    const out = (label: string): string => k.runs.find((r) => r.label === label)!.dataOut!;
    expect(out('skb packet pointer bits').slice(0, 4)).toBe('4045');
    expect(out('xdp packet pointer bits').slice(0, 4)).toBe('0005');
    expect(out('change_head').slice(0, 30)).toBe(`${'00'.repeat(14)}ee`);
    expect(k.runs.find((r) => r.label === 'sk_fullsock and sk_storage_get on skb->sk')!.retval).toBe(0); // TC_ACT_OK: the storage was made
    expect(out('change_proto 4 to 6').length).toBe(out('change_proto 4 to 6 and back').length + 40);
  });
});
