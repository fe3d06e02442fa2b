// `bpfkit tools … -c CG` (libbpf-tools' cgroup filter): a cgroup v2 directory of the test's own, one command run inside it
// and one outside; only the inside one is reported, the same row as libbpf-tools' execsnoop -c reports.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCgroup } from './helpers/cgroup.js';
import { kernelSkip } from './helpers/kernel.js';
import { both, ours, rows } from './helpers/tools.js';

const why = await kernelSkip('bpfkit tools -c (cgroup filter)');

describe.skipIf(why !== undefined)('bpfkit tools -c CG', () => {
  let cg: ReturnType<typeof testCgroup> | undefined;
  let cgroup = '';
  beforeAll(() => {
    cg = testCgroup(`bpfkit-tools-${process.pid}`);
    cgroup = cg.path;
  });
  afterAll(() => cg?.remove());

  it('execsnoop -c: the exec inside the cgroup is reported, the one outside is not, as libbpf-tools reports them', async () => {
    const r = await both('execsnoop', ['-c', cgroup], /PCOMM\s+PID\s+PPID\s+RET\s+ARGS/, () => {
      // The shell moves itself into the cgroup, then becomes echo there.
      spawnSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs; exec /bin/echo bpfkit-cg-inside`]);
      spawnSync('/bin/echo', ['bpfkit-cg-outside']);
    });
    const mine = rows(r.ours, /bpfkit-cg-/);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(/^echo \d+ \d+ 0 \/bin\/echo bpfkit-cg-inside$/);
    if (r.theirs !== undefined) expect(rows(r.theirs, /bpfkit-cg-/)).toEqual(mine);
  });

  it('a path that is not a cgroup v2 directory is refused before tracing', () => {
    for (const [dir, msg] of [['/nonexistent-cgroup', 'no such directory'], [os.tmpdir(), 'not a cgroup v2 directory']] as const) {
      const cmd = ours('execsnoop', ['-c', dir]);
      const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(`execsnoop: cgroup ${dir}: ${msg}${msg.startsWith('not') ? ' (EBADF)' : ''}`);
    }
  });
});
