// XDP (generic mode) and tcx ingress on lo inside a private network namespace: PASS delivers, DROP does not, closing the link detaches.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasCommand, repoRoot } from '../helpers/reference.js';
import { kernelSkip } from './helpers/kernel.js';

const why = (await kernelSkip('xdp/tcx on lo in a netns')) ?? (hasCommand('unshare') && hasCommand('ip') ? undefined : 'needs unshare and ip (util-linux, iproute2)');

describe.skipIf(why !== undefined)('xdp and tcx links', () => {
  it('count and drop UDP to one port on lo; nothing after detach', () => {
    const child = path.join(repoRoot, 'test/kernel/fixtures/netdev-child.ts');
    // A private network namespace: other processes' traffic cannot reach this lo, and ours cannot leave it.
    const out = execFileSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" --import tsx "${child}"`], { encoding: 'utf8', cwd: repoRoot });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    expect(r).toEqual({
      xdpPassReceived: 10, xdpPassCounted: 10, xdpPassAfterDetach: 5, xdpPassCountedAfterDetach: 10,
      xdpDropReceived: 0, xdpDropCounted: 10, xdpDropAfterDetach: 5, xdpDropCountedAfterDetach: 10,
      tcxPassReceived: 10, tcxPassCounted: 10,
      tcxDropReceived: 0, tcxDropCounted: 10,
    });
  });
});
