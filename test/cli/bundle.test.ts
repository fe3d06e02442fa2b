// The bundled CLI (bin/bpfkit → dist/cli/bundle, built by scripts/build-cli.ts) against the CLI from source: same output, status and module state.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/command.js';
import { commands } from '../../src/cli/commands.js';
import { main } from '../../src/cli/main.js';
import { synthesizeTraffic, writeCapture } from '../../src/pcap/index.js';
import { interruptedSample } from '../helpers/interrupted-sample.js';
import { skipReason } from '../helpers/reference.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/bpfkit');
const bundle = path.join(root, 'dist/cli/bundle');

/** The newest modification time under a directory. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

const why = skipReason('bundled CLI', {
  files: [path.join(bundle, 'main.cjs')],
  missing: existsSync(path.join(bundle, 'main.cjs')) && newest(path.join(root, 'src')) > statSync(path.join(bundle, 'main.cjs')).mtimeMs
    ? 'dist/cli/bundle is older than src/ (run npm run build)' : undefined,
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const capture = path.join(dir, 'in.pcap');
writeFileSync(capture, writeCapture([...synthesizeTraffic({ seed: 5, count: 400 })], { linkType: 1 }));

/** The CLI from source, in this process. */
async function fromSource(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), isTTY: false };
  const status = await main(argv, io);
  return { status, stdout, stderr };
}

/** bin/bpfkit as a process. */
function fromBundle(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, argv, { encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(why !== undefined)('bin/bpfkit runs the bundle', () => {
  it('picks every command of the table: its --help is the source help', async () => {
    for (const c of commands) {
      const argv = [...c.name, '--help'];
      expect(fromBundle(argv), argv.join(' ')).toEqual(await fromSource(argv));
    }
  });

  it('prints what the source CLI prints, with its exit status (usage, errors, output)', async () => {
    const runs = [
      [], ['--help'], ['--version'], ['nosuch'], ['cbpf'], ['ebpf'],
      ['sample', '--nosuch'], ['compile', 'tcp and ('], ['compile', '-d', 'udp port 53'],
      ['filter', '-r', capture, 'tcp port 80'], ['filter', '--count', '-r', capture, 'udp'], ['filter', '-r', path.join(dir, 'absent.pcap'), 'tcp'],
      ['capinfo', capture], ['obj', 'inspect', path.join(dir, 'absent.o')],
    ];
    for (const argv of runs) expect(fromBundle(argv), argv.join(' ')).toEqual(await fromSource(argv));
  });

  it("V8's code cache: written by a command's first run, used or replaced after (a damaged cache is rejected, not run)", async () => {
    const cache = path.join(bundle, 'compile.cjs.cache');
    const want = await fromSource(['compile', 'ip6 and tcp']);
    rmSync(cache, { force: true });
    expect(fromBundle(['compile', 'ip6 and tcp'])).toEqual(want);
    const written = readFileSync(cache);
    expect(written.length).toBeGreaterThan(1000);
    expect(fromBundle(['compile', 'ip6 and tcp'])).toEqual(want);
    // Same size of zeros: V8 checks its header and source hash and compiles the source instead.
    writeFileSync(cache, new Uint8Array(written.length));
    expect(fromBundle(['compile', 'ip6 and tcp'])).toEqual(want);
    expect(readFileSync(cache).equals(new Uint8Array(written.length))).toBe(false);
    expect(fromBundle(['compile', 'ip6 and tcp'])).toEqual(want);
  });

  it('a help run writes no cache (it compiles a corner of the command); the next real run writes it', async () => {
    const cache = path.join(bundle, 'compile.cjs.cache');
    rmSync(cache, { force: true });
    expect(fromBundle(['compile', '--help'])).toEqual(await fromSource(['compile', '--help']));
    expect(existsSync(cache)).toBe(false);
    expect(fromBundle(['compile', 'udp'])).toEqual(await fromSource(['compile', 'udp']));
    expect(existsSync(cache)).toBe(true);
  });

  it('one copy of the shell per process: stdout sink, stop signal and file writer agree (sample -w - under SIGTERM)', async () => {
    const child = spawn(bin, ['sample', '-w', '-', '-c', '2000000'], { cwd: root });
    const { code, wrote: n, capture: cap } = await interruptedSample(child);
    expect(code).toBe(0);
    expect(n).toBeGreaterThan(0);
    expect(cap.error).toBeUndefined();
    expect(cap.packets.length).toBe(n);
  });
});
