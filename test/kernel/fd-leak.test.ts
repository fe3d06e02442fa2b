// 10,000 load/attach/close cycles (plus maps, buffer readers, captures and tracepoint links) leave /proc/self/fd exactly as it was.

import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType } from '../../src/ebpf/index.js';
import type { ProgramSpec } from '../../src/ebpf/index.js';
import { Kernel, LiveCapture, PerfBufferReader, RingBufferReader, attachBpfFilter, attachRawTracepoint, attachTpBtf } from '../../src/kernel/index.js';
import { exit, movImm } from './helpers/asm.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('fd leak cycles');

const openFds = (): number => readdirSync('/proc/self/fd').length;
const ret0 = (name: string, type: ProgType): ProgramSpec => ({ name, type, license: 'GPL', insns: [movImm(0, 0), exit()] });

const AF_INET = 2;
const SOCK_DGRAM = 2;

describe.skipIf(why !== undefined)('no file descriptor leaks', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  /** Runs `cycle` n times after one warm-up (lazy imports, caches) and returns the fd count difference. */
  async function leaked(n: number, cycle: (i: number) => void | Promise<void>): Promise<number> {
    await cycle(-1);
    const before = openFds();
    for (let i = 0; i < n; i++) await cycle(i);
    return openFds() - before;
  }

  it('10,000 socket-filter programs loaded, attached to a socket (SO_ATTACH_BPF) and closed', async () => {
    const spec = ret0('leak_sf', ProgType.BPF_PROG_TYPE_SOCKET_FILTER);
    expect(
      await leaked(10_000, () => {
        using prog = kernel.load(spec);
        const s = kernel.sys.socket(AF_INET, SOCK_DGRAM, 0);
        try {
          attachBpfFilter(kernel.sys, s, prog.fd);
        } finally {
          kernel.sys.close(s);
        }
      }),
    ).toBe(0);
  });

  it('10,000 maps created and closed, and 2,000 programs whose spec creates maps, loaded and closed', async () => {
    expect(await leaked(10_000, () => kernel.createMap({ name: 'leak_m', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 16 }).close())).toBe(0);
    const withMaps: ProgramSpec = {
      ...ret0('leak_maps', ProgType.BPF_PROG_TYPE_SOCKET_FILTER),
      maps: [
        { name: 'a', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 },
        { name: 'rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 },
      ],
    };
    expect(await leaked(2000, () => kernel.load(withMaps).close())).toBe(0);
  });

  it('1,000 ring buffer and perf buffer readers (mmaps, per-CPU perf events, poll watchers) opened and closed', async () => {
    using rbMap = kernel.createMap({ name: 'leak_rb', type: MapType.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
    using pbMap = kernel.createMap({ name: 'leak_pb', type: MapType.BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: kernel.possibleCpus });
    expect(
      await leaked(1000, () => {
        using rb = new RingBufferReader(kernel.sys, rbMap);
        using pb = new PerfBufferReader(kernel.sys, pbMap, { pageCount: 1 });
        // Start the poll watchers too: they must go with close().
        rb[Symbol.asyncIterator]();
        pb[Symbol.asyncIterator]();
      }),
    ).toBe(0);
  });

  it('300 live captures on lo with a classic filter opened and closed; a failed open (no such interface) leaks nothing either', async () => {
    const dropAll = [{ code: 0x06, jt: 0, jf: 0, k: 0 }];
    expect(await leaked(300, () => LiveCapture.open(kernel.sys, { interface: 'lo', filter: dropAll }).close())).toBe(0);
    expect(
      await leaked(100, () => {
        expect(() => LiveCapture.open(kernel.sys, { interface: 'bpfkit-none0', filter: dropAll })).toThrow();
      }),
    ).toBe(0);
  });

  // Each detach waits for an RCU grace period (~13 ms here; closing a packet socket too), so fewer cycles keep the file near 20 s.
  it('300 raw_tp and 300 tp_btf programs loaded, attached to sys_enter and detached', async () => {
    const raw = ret0('leak_raw', ProgType.BPF_PROG_TYPE_RAW_TRACEPOINT);
    expect(
      await leaked(300, () => {
        using prog = kernel.load(raw);
        attachRawTracepoint(kernel.sys, prog, 'sys_enter').close();
      }),
    ).toBe(0);
    const btf = ret0('leak_btf', ProgType.BPF_PROG_TYPE_TRACING);
    expect(
      await leaked(300, async () => {
        const { link, program } = await attachTpBtf(kernel, btf, 'sys_enter');
        link.close();
        program.close();
      }),
    ).toBe(0);
  });

  it('the count sees a leak: 10 maps left open are 10 more fds', async () => {
    const kept: { close(): void }[] = [];
    const spec = { name: 'leak_kept', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 };
    expect(await leaked(10, (i) => void (i >= 0 ? kept.push(kernel.createMap(spec)) : kernel.createMap(spec).close()))).toBe(10);
    for (const m of kept) m.close();
  });

  it('a verifier rejection, 1,000 times, leaks nothing', async () => {
    const bad: ProgramSpec = { name: 'leak_bad', type: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, license: 'GPL', insns: [exit()] };
    expect(await leaked(1000, () => expect(() => kernel.load(bad)).toThrow())).toBe(0);
  });
});
