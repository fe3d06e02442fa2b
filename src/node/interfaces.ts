/** The network interfaces a capture can use, in libpcap's order, as `tcpdump -D` lists them (read from Linux sysfs). */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Whether an interface is plugged in (wired) or associated (wireless), as libpcap reports it. */
export type ConnectionStatus = 'unknown' | 'connected' | 'disconnected' | 'not-applicable';

/** One interface of {@link listInterfaces}. */
export interface NetInterface {
  name: string;
  /** Only the `any` pseudo-device has one on Linux. */
  description?: string;
  up: boolean;
  running: boolean;
  loopback: boolean;
  wireless: boolean;
  connection: ConnectionStatus;
}

/** The `any` pseudo-device, which libpcap adds after the real interfaces. */
const ANY: NetInterface = {
  name: 'any',
  description: 'Pseudo-device that captures on all interfaces',
  up: true,
  running: true,
  loopback: false,
  wireless: false,
  connection: 'not-applicable',
};

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

function readSys(dir: string, file: string): string | undefined {
  try {
    return readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * libpcap's figure of merit (lower is listed first): running, up, not disconnected, not
 * loopback, then the instance number at the end of the name. `any` sorts after every other
 * non-loopback interface; loopback devices after it (as libpcap 1.10.3's `tcpdump -D` lists them).
 */
function figureOfMerit(i: NetInterface): number {
  let n: number;
  if (i.name === 'any') n = 0x1fffffff;
  else {
    const m = /(\d+)$/.exec(i.name);
    n = m ? Number(m[1]) + 1 : 0;
  }
  if (!i.running) n += 0x80000000;
  if (!i.up) n += 0x40000000;
  if ((!i.wireless && i.connection === 'disconnected') || i.loopback) n += 0x20000000;
  return n;
}

/**
 * The interfaces of this host (from `sysroot`/sys/class/net, `/` by default) plus `any`, in the
 * order `tcpdump -D` lists them: sorted by libpcap's figure of merit, ties in interface-index order.
 * The first one is the interface `tcpdump` and `bpfkit capture` use when none is given.
 */
export function listInterfaces(sysroot = '/'): NetInterface[] {
  const base = path.join(sysroot, 'sys/class/net');
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    names = [];
  }
  const found: { iface: NetInterface; index: number }[] = [];
  for (const name of names) {
    const dir = path.join(base, name);
    const flags = Number.parseInt(readSys(dir, 'flags') ?? '', 16);
    if (!Number.isFinite(flags)) continue;
    const loopback = (flags & IFF_LOOPBACK) !== 0;
    const wireless = existsSync(path.join(dir, 'wireless'));
    // libpcap asks ETHTOOL_GLINK; the carrier file gives the same answer and fails where the driver cannot say.
    const carrier = readSys(dir, 'carrier');
    const connection: ConnectionStatus = loopback ? 'not-applicable' : carrier === '1' ? 'connected' : carrier === '0' ? 'disconnected' : 'not-applicable';
    const up = (flags & IFF_UP) !== 0;
    // sysfs flags lack IFF_RUNNING; the kernel sets it (dev_get_flags) when up and operationally up or unknown.
    const oper = readSys(dir, 'operstate');
    const running = up && (oper === 'up' || oper === 'unknown');
    found.push({
      iface: { name, up, running, loopback, wireless, connection },
      index: Number(readSys(dir, 'ifindex') ?? Infinity),
    });
  }
  found.sort((a, b) => a.index - b.index);
  const list = [...found.map((f) => f.iface), ANY];
  // Array.prototype.sort is stable: equal figures keep the discovery order, as libpcap's insertion does.
  return list.sort((a, b) => figureOfMerit(a) - figureOfMerit(b));
}

/** The text of `tcpdump -D`: `N.NAME (DESCRIPTION) [Up, Running, Connected]` per interface. */
export function formatInterfaceList(list: readonly NetInterface[]): string {
  return list
    .map((i, n) => {
      const flags = [i.up && 'Up', i.running && 'Running', i.loopback && 'Loopback', i.wireless && 'Wireless'].filter(Boolean).join(', ') || 'none';
      const status = i.wireless
        ? { unknown: ', Association status unknown', connected: ', Associated', disconnected: ', Not associated', 'not-applicable': '' }[i.connection]
        : { unknown: '', connected: ', Connected', disconnected: ', Disconnected', 'not-applicable': '' }[i.connection];
      return `${n + 1}.${i.name}${i.description ? ` (${i.description})` : ''} [${flags}${status}]\n`;
    })
    .join('');
}
