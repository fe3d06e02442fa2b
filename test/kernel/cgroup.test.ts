// cgroup v2 hooks on a cgroup the test creates: skb egress/ingress counting and dropping a child's UDP packets, and sock_create allowing or refusing its sockets.

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgType } from '../../src/ebpf/index.js';
import { Kernel, attachCgroup } from '../../src/kernel/index.js';
import { skipReason } from '../helpers/reference.js';
import { testCgroup } from './helpers/cgroup.js';
import { kernelSkip } from './helpers/kernel.js';
import { countAt, countingSpec } from './helpers/probe-progs.js';

const PY = '/usr/bin/python3';
const why = (await kernelSkip('cgroup hooks')) ?? skipReason('cgroup hooks', { files: [PY] });

// Sends N 10-byte UDP datagrams to a socket of its own on 127.0.0.1, then opens M more sockets; prints "sendFailures received socketFailures".
const SCRIPT = `
import socket, sys
n, m = int(sys.argv[1]), int(sys.argv[2])
def sock():
    try: return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except PermissionError: return None
r = sock()
sf = got = kf = 0
if r is not None:
    r.bind(("127.0.0.1", 0)); r.setblocking(False)
    s = sock()
    for i in range(n):
        try: s.sendto(b"0123456789", r.getsockname())
        except PermissionError: sf += 1
    try:
        while True: r.recv(100); got += 1
    except BlockingIOError: pass
for i in range(m):
    if sock() is None: kf += 1
print(sf, got, kf)
`;

/** Runs the script as a process that first moves itself into `cgroup`; returns its three numbers. */
function runInCgroup(cgroup: string, n: number, m: number): number[] {
  const out = execFileSync('sh', ['-c', `echo $$ > "$0/cgroup.procs" && exec ${PY} -c "$1" "$2" "$3"`, cgroup, SCRIPT, String(n), String(m)], { encoding: 'utf8' });
  return out.trim().split(' ').map(Number);
}

// IPv4 header (20) + UDP header (8) + 10 bytes: __sk_buff.len (offset 0) at the cgroup inet hooks.
const PACKET_LEN = 38n;

describe.skipIf(why !== undefined)('cgroup hooks', () => {
  let kernel: Kernel;
  let cgroup: string;
  let cg: ReturnType<typeof testCgroup> | undefined;
  beforeAll(async () => {
    kernel = await Kernel.open();
    cg = testCgroup(`bpfkit-test-${process.pid}`);
    cgroup = cg.path;
  });
  afterAll(() => cg?.remove());

  it('egress and ingress skb programs (bpf links) count exactly the 120 datagrams and their bytes', async () => {
    using egress = kernel.load(countingSpec('cg_egress', ProgType.BPF_PROG_TYPE_CGROUP_SKB, { sumField: 0, sumBits: 32, ret: 1 }));
    using ingress = kernel.load(countingSpec('cg_ingress', ProgType.BPF_PROG_TYPE_CGROUP_SKB, { sumField: 0, sumBits: 32, ret: 1 }));
    let result: number[];
    {
      using _e = await attachCgroup(kernel.sys, egress, cgroup, 'egress');
      using _i = await attachCgroup(kernel.sys, ingress, cgroup, 'ingress');
      result = runInCgroup(cgroup, 120, 0);
    }
    expect(result).toEqual([0, 120, 0]);
    expect(countAt(egress, 0)).toBe(120n);
    expect(countAt(ingress, 0)).toBe(120n);
    expect(countAt(egress, 1)).toBe(120n * PACKET_LEN);
    expect(countAt(ingress, 1)).toBe(120n * PACKET_LEN);
    // Detached: a second run is not counted.
    runInCgroup(cgroup, 5, 0);
    expect(countAt(egress, 0)).toBe(120n);
  });

  it('an egress program returning 0 drops every datagram: sendto fails with EPERM (PROG_ATTACH, detached on close)', async () => {
    using drop = kernel.load(countingSpec('cg_drop', ProgType.BPF_PROG_TYPE_CGROUP_SKB, { ret: 0 }));
    {
      using _a = await attachCgroup(kernel.sys, drop, cgroup, 'egress', { mode: 'attach' });
      expect(runInCgroup(cgroup, 40, 0)).toEqual([40, 0, 0]);
    }
    expect(countAt(drop, 0)).toBe(40n);
    expect(runInCgroup(cgroup, 10, 0)).toEqual([0, 10, 0]);
  });

  it('sock_create counts every inet socket, and refusing them makes socket() fail', async () => {
    using allow = kernel.load(countingSpec('cg_sock', ProgType.BPF_PROG_TYPE_CGROUP_SOCK, { ret: 1 }));
    {
      using _l = await attachCgroup(kernel.sys, allow, cgroup, 'sock_create');
      expect(runInCgroup(cgroup, 3, 7)).toEqual([0, 3, 0]);
    }
    expect(countAt(allow, 0)).toBe(9n); // receiver + sender + 7
    using deny = kernel.load(countingSpec('cg_nosock', ProgType.BPF_PROG_TYPE_CGROUP_SOCK, { ret: 0 }));
    {
      using _l = await attachCgroup(kernel.sys, deny, cgroup, 'sock_create');
      expect(runInCgroup(cgroup, 3, 4)).toEqual([0, 0, 4]);
    }
    expect(countAt(deny, 0)).toBe(5n);
  });

  it('bad targets are usage errors', async () => {
    using p = kernel.load(countingSpec('cg_bad', ProgType.BPF_PROG_TYPE_CGROUP_SKB, { ret: 1 }));
    await expect(attachCgroup(kernel.sys, p, '/no/such/cgroup', 'egress')).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(attachCgroup(kernel.sys, p, cgroup, 'nope' as 'egress')).rejects.toThrow(/unknown cgroup hook "nope"/);
  });
});
