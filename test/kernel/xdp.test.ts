// XDP (generic and native) and tcx ingress/egress on a veth pair between two private network namespaces: ping loss and map counters show pass, drop and detach.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, skipReason } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';
import { createVethPair } from './helpers/netns.js';
import type { VethPair } from './helpers/netns.js';

const why = (await kernelSkip('xdp/tcx on veth')) ?? skipReason('xdp/tcx on veth', { commands: ['ip', 'ping'] });

describe.skipIf(why !== undefined)('xdp and tcx on a veth pair', () => {
  let pair: VethPair;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.cleanup());

  it('pass lets every ping through, drop loses every reply (or request), each ICMP frame counted once; detach restores traffic', () => {
    const child = path.join(repoRoot, 'test/kernel/fixtures/veth-child.ts');
    const out = pair.exec(pair.a, process.execPath, ['--import', 'tsx', child], { cwd: repoRoot, env: { ...process.env, VETH: pair.vethA, PEER_IP: pair.ipB } });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    const xdp = (mode: string) => ({
      [`xdp_${mode}PassReceived`]: 3, [`xdp_${mode}PassCounted`]: 3, [`xdp_${mode}PassAfterDetach`]: 3, [`xdp_${mode}PassCountedAfterDetach`]: 3,
      [`xdp_${mode}DropReceived`]: 0, [`xdp_${mode}DropCounted`]: 3, [`xdp_${mode}DropAfterDetach`]: 3, [`xdp_${mode}DropCountedAfterDetach`]: 3,
    });
    // A request dropped at egress fails ping's sendmsg (ENOBUFS) and ping sends again: at least 3 frames, not exactly.
    expect(r.tcx_egressDropCounted).toBeGreaterThanOrEqual(3);
    r.tcx_egressDropCounted = Math.min(r.tcx_egressDropCounted, 3);
    expect(r).toEqual({
      baseline: 3,
      ...xdp('skb'),
      ...xdp('native'),
      tcx_ingressPassReceived: 3, tcx_ingressPassCounted: 3, tcx_ingressDropReceived: 0, tcx_ingressDropCounted: 3,
      tcx_egressPassReceived: 3, tcx_egressPassCounted: 3, tcx_egressDropReceived: 0, tcx_egressDropCounted: 3,
    });
  });
});
