// Feature probes on this kernel, compared with bpftool's own probe where it is installed.

import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { MapType, ProgType } from '../../src/ebpf/index.js';
import { FakeSys, Kernel, Probes, requireFeature } from '../../src/kernel/index.js';
import { UnsupportedError, UsageError } from '../../src/util/index.js';
import { hasCommand } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const why = await kernelSkip('kernel feature probes');

/** bpftool's verdicts: "eBPF program_type xdp is available" etc. */
function bpftoolVerdicts(): Map<string, boolean> {
  const out = execFileSync('bpftool', ['feature', 'probe', 'kernel'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const v = new Map<string, boolean>();
  for (const m of out.matchAll(/eBPF (program_type|map_type) (\w+) is (NOT )?available/g)) v.set(`${m[1] === 'program_type' ? 'prog' : 'map'}:${m[2]}`, !m[3]);
  return v;
}

describe.skipIf(why !== undefined)('feature probes (real kernel)', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await Kernel.open();
  });

  it('types every kernel with bpf() has are supported', () => {
    for (const f of ['prog:socket_filter', 'prog:xdp', 'prog:sched_cls', 'prog:raw_tracepoint', 'map:hash', 'map:array', 'map:ringbuf', 'map:lru_hash', 'attach:raw_tp', 'attach:tp_btf', 'attach:xdp']) {
      expect(kernel.probes.has(f), f).toBe(true);
    }
    expect(kernel.probes.helper(ProgType.BPF_PROG_TYPE_XDP, 1)).toBe(true); // map_lookup_elem
    expect(kernel.probes.helper(ProgType.BPF_PROG_TYPE_XDP, 100000)).toBe(false);
  });

  it('fentry probes as unsupported here (lockdown) without crashing, and requireFeature names it', () => {
    // On kernels where trampolines work this probe is true; the test then checks only that requireFeature passes.
    const has = kernel.probes.has('attach:fentry');
    if (has) {
      expect(() => kernel.requireFeature('attach:fentry')).not.toThrow();
    } else {
      let err: unknown;
      try {
        requireFeature(kernel.probes, 'attach:fentry');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as UnsupportedError).message).toBe('this kernel does not support attach:fentry');
      expect((err as UnsupportedError).hint).toMatch(/tp_btf/);
    }
  });

  it.skipIf(!hasCommand('bpftool'))('agrees with bpftool feature probe on program and map types', () => {
    const ref = bpftoolVerdicts();
    expect(ref.size).toBeGreaterThan(20);
    let compared = 0;
    for (const [name, value] of Object.entries(ProgType)) {
      const short = name.replace('BPF_PROG_TYPE_', '').toLowerCase();
      // bpftool probes TRACING through an fentry-style load, which lockdown refuses; we probe it through tp_btf, which works.
      if (!ref.has(`prog:${short}`) || value === 0 || short === 'tracing') continue;
      expect(kernel.probes.progType(value), `prog:${short}`).toBe(ref.get(`prog:${short}`));
      compared++;
    }
    for (const [name, value] of Object.entries(MapType)) {
      const short = name.replace('BPF_MAP_TYPE_', '').toLowerCase();
      if (!ref.has(`map:${short}`)) continue;
      let ours: boolean;
      try {
        ours = kernel.probes.mapType(value);
      } catch (e) {
        if (e instanceof UsageError) continue; // needs BTF: not probeable without it
        throw e;
      }
      expect(ours, `map:${short}`).toBe(ref.get(`map:${short}`));
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
  });

  it('memoizes: a second probe issues no syscall', () => {
    const sys = new FakeSys();
    const probes = new Probes(sys);
    expect(probes.has('map:hash')).toBe(true);
    const n = sys.calls.length;
    expect(probes.has('map:hash')).toBe(true);
    expect(sys.calls.length).toBe(n);
    expect(probes.has('map:queue')).toBe(false);
    expect(() => probes.has('map:nonsense')).toThrow(UsageError);
    expect(() => probes.has('what')).toThrow(/unknown feature/);
  });
});
