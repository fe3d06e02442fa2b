// The interface list of `capture -D` on a made-up sysfs (libpcap's order and flags), and the filter moved for a cooked socket.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { cookedKernelFilter } from '../../src/kernel/index.js';
import { formatInterfaceList, listInterfaces } from '../../src/node/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-sysfs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** One /sys/class/net entry: flags in hex as the kernel writes them, operstate, carrier (absent: unreadable). */
function iface(name: string, index: number, flags: number, operstate: string, carrier?: string, wireless = false): void {
  const dir = path.join(root, 'sys/class/net', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'flags'), `0x${flags.toString(16)}\n`);
  writeFileSync(path.join(dir, 'ifindex'), `${index}\n`);
  writeFileSync(path.join(dir, 'operstate'), `${operstate}\n`);
  if (carrier !== undefined) writeFileSync(path.join(dir, 'carrier'), `${carrier}\n`);
  if (wireless) mkdirSync(path.join(dir, 'wireless'));
}

describe('listInterfaces / formatInterfaceList (tcpdump -D)', () => {
  it("sorts by libpcap's figure of merit and prints tcpdump's flags", () => {
    iface('lo', 1, 0x9, 'unknown');
    iface('eth1', 2, 0x1003, 'up', '1');
    iface('eth0', 3, 0x1003, 'up', '1');
    iface('eth2', 4, 0x1003, 'down', '0');
    iface('wlan0', 5, 0x1003, 'up', '1', true);
    iface('ifb0', 6, 0x82, 'down');
    expect(formatInterfaceList(listInterfaces(root))).toBe(
      [
        '1.eth0 [Up, Running, Connected]',
        '2.wlan0 [Up, Running, Wireless, Associated]',
        '3.eth1 [Up, Running, Connected]',
        '4.any (Pseudo-device that captures on all interfaces) [Up, Running]',
        '5.lo [Up, Running, Loopback]',
        '6.eth2 [Up, Disconnected]',
        '7.ifb0 [none]',
        '',
      ].join('\n'),
    );
  });

  it('with no sysfs, only any', () => {
    expect(listInterfaces(path.join(root, 'nowhere')).map((i) => i.name)).toEqual(['any']);
  });
});

describe('cookedKernelFilter (libpcap fix_program for LINUX_SLL2)', () => {
  it('moves loads past the cooked header back by 20 and turns header fields into ancillary loads', () => {
    const prog = compileFilter('inbound and ifindex 3 and ip and udp dst port 53', { linkType: 'LINUX_SLL2', linuxExtensions: true });
    const fixed = cookedKernelFilter(prog.insns)!;
    expect(fixed).toHaveLength(prog.insns.length);
    prog.insns.forEach((insn, i) => {
      const cls = insn.code & 7;
      const mode = insn.code & 0xe0;
      const load = (cls === 0 || cls === 1) && (mode === 0x20 || mode === 0x40 || mode === 0xa0);
      if (!load) expect(fixed[i]).toEqual(insn);
      else if (insn.k >= 20 && insn.k < 0x80000000) expect(fixed[i].k).toBe(insn.k - 20);
      else expect(fixed[i].k).toBeGreaterThanOrEqual(0xfffff000);
    });
    // The protocol (offset 0), the packet type (10) and the interface index (4) became SKF_AD_PROTOCOL (0),
    // SKF_AD_PKTTYPE (4) and SKF_AD_IFINDEX (8) loads.
    const ancillary = new Set(fixed.filter((f) => f.k >= 0xfffff000).map((f) => f.k - 0xfffff000));
    expect([...ancillary].sort((a, b) => a - b)).toEqual([0, 4, 8]);
  });

  it('gives up (user-space filtering) on a header field the kernel cannot give', () => {
    const prog = compileFilter('link[12] = 1', { linkType: 'LINUX_SLL2' });
    expect(cookedKernelFilter(prog.insns)).toBeUndefined();
  });
});
