// The CLI as a real process: inputs that are pipes, stop signals mid-capture, and output to a reader that is slow or goes away (counted in bytes, never timed).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { readCapture, synthesizeTraffic, writeCapture } from '../../src/pcap/index.js';
import { interruptedSample } from '../helpers/interrupted-sample.js';

const root = path.resolve(import.meta.dirname, '../..');
const entry = path.join(root, 'test/helpers/cli-entry.ts');
const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-io-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const packets = [...synthesizeTraffic({ seed: 11, count: 3000 })];
const file = path.join(dir, 'in.pcap');
writeFileSync(file, writeCapture(packets, { linkType: 1 }));
const tcpCount = ((): number => {
  const f = compileFilter('tcp');
  return packets.filter((p) => f.interpret(p.data, p.origLen) !== 0).length;
})();

/** Starts `bpfkit ARGS` from source, or `bash -c SCRIPT` where `$BPFKIT` runs bpfkit and `$1`… are ARGS. */
function start(args: string[], shell?: string): ChildProcessWithoutNullStreams {
  if (shell !== undefined) {
    const script = `BPFKIT() { "${process.execPath}" --import tsx "${entry}" "$@"; }; ${shell.replaceAll('$BPFKIT', 'BPFKIT')}`;
    return spawn('bash', ['-c', script, 'bash', ...args], { cwd: root });
  }
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root });
}

/** Collects a child's output and exit. */
function collect(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describe('-r from streams (real process)', () => {
  it('-r - and -r /dev/stdin read a pipe', async () => {
    for (const name of ['-', '/dev/stdin']) {
      const child = start(['filter', '-r', name, '--count', 'tcp']);
      const done = collect(child);
      child.stdin.on('error', () => undefined);
      child.stdin.end(readFileSync(file));
      const r = await done;
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${tcpCount} packets\n`);
      expect(r.stderr).toBe(`reading from file ${name}, link-type EN10MB (Ethernet), snapshot length 262144\n`);
    }
  });

  it('-r <(cat f.pcap): --count and -w from a process substitution (no ESPIPE)', async () => {
    const counted = await collect(start([file], '$BPFKIT filter -r <(cat "$1") --count tcp'));
    expect(counted.code).toBe(0);
    expect(counted.stdout).toBe(`${tcpCount} packets\n`);
    const out = path.join(dir, 'from-pipe.pcap');
    const written = await collect(start([file, out], '$BPFKIT filter -r <(cat "$1") -w "$2" tcp'));
    expect(written.code).toBe(0);
    expect(readCapture(new Uint8Array(readFileSync(out))).packets.length).toBe(tcpCount);
  });
});

describe('SIGINT, SIGTERM, SIGHUP: the output is completed and the counts printed', () => {
  // Small packets, fed in one write that fits the pipe: the first read takes them all.
  const small = packets.filter((p) => p.data.length < 150).slice(0, 100);
  const feed = writeCapture(small, { linkType: 1 });

  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(`${sig} while waiting on a stalled pipe`, async () => {
      expect(small.length).toBe(100);
      const out = path.join(dir, `${sig}.pcap`);
      const child = start(['filter', '-r', '-', '-w', out]);
      const done = collect(child);
      child.stdin.write(feed);
      // The reading-from line comes once the header is read and the stop handler is in place.
      await new Promise<void>((resolve) => {
        let seen = '';
        child.stderr.on('data', (b: Buffer) => {
          seen += b.toString();
          if (seen.includes('reading from file -')) resolve();
        });
      });
      child.kill(sig);
      const r = await done;
      child.stdin.destroy();
      expect(r.signal).toBeNull();
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('100 packets read, 100 matched (interrupted)\n');
      expect(readCapture(new Uint8Array(readFileSync(out))).packets.length).toBe(100);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    });
  }
});

describe('standard output that fails', () => {
  it('printing into /dev/full: exit status 1 and a one-line error', async () => {
    const r = await collect(start([file], '$BPFKIT filter -n -r "$1" > /dev/full'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`reading from file ${file}, link-type EN10MB (Ethernet), snapshot length 262144\nbpfkit filter: cannot write standard output: no space left on device\n`);
  });
});

describe('sample -w - under a signal and a slow reader', () => {
  it('SIGTERM while blocked on a full pipe: the capture written so far is complete, the count printed', async () => {
    const child = start(['sample', '-w', '-', '-c', '2000000']);
    const { code, wrote: n, capture: cap } = await interruptedSample(child);
    expect(code).toBe(0);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(2000000);
    expect(cap.error).toBeUndefined();
    expect(cap.packets.length).toBe(n);
  });
});

describe('standard output that is a FIFO (a shell pipe), written through a non-blocking description of its own', () => {
  it('SIGTERM while blocked on a full FIFO: the capture written so far is complete, the count printed', async () => {
    const fifo = path.join(dir, 'out.fifo');
    spawnSync('mkfifo', [fifo]);
    const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wfd = openSync(fifo, constants.O_WRONLY);
    const reader = new net.Socket({ fd: rfd, readable: true, writable: false });
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'sample', '-w', '-', '-c', '2000000'], { cwd: root, stdio: ['ignore', wfd, 'pipe'] });
    closeSync(wfd);
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const drained = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    await new Promise<void>((resolve) =>
      reader.once('data', (b: Buffer) => {
        chunks.push(b);
        reader.pause();
        resolve();
      }),
    );
    // bpfkit writes through a description of its own, opened O_NONBLOCK (fd 1's flags are not checked: run from
    // source, tsx's loader creates Node's stdout stream, which switches fd 1 too).
    const O_NONBLOCK = 0o4000;
    const flagsOf = (fd: string): number => parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? 'NaN', 8);
    const onFifo = readdirSync(`/proc/${child.pid}/fd`).filter((fd) => { try { return readlinkSync(`/proc/${child.pid}/fd/${fd}`) === fifo; } catch { return false; } });
    expect(onFifo).toContain('1');
    expect(onFifo.filter((fd) => fd !== '1' && (flagsOf(fd) & O_NONBLOCK) !== 0)).toHaveLength(1);
    child.kill('SIGTERM');
    reader.on('data', (b: Buffer) => chunks.push(b));
    reader.resume();
    expect(await exited).toBe(0);
    await drained;
    const n = Number(/^wrote (\d+) packets to - \(interrupted\)$/m.exec(stderr)?.[1]);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(2000000);
    const cap = readCapture(new Uint8Array(Buffer.concat(chunks)));
    expect(cap.error).toBeUndefined();
    expect(cap.packets.length).toBe(n);
  });
});

describe('a FIFO nobody writes to', () => {
  it('SIGTERM while waiting to open it ends the process by that signal (no hang, nothing left)', async () => {
    const fifo = path.join(dir, 'silent.fifo');
    spawnSync('mkfifo', [fifo]);
    const child = start(['filter', '-r', fifo, '-w', path.join(dir, 'never.pcap')]);
    const done = collect(child);
    // Let it start and block in open(2); whether or not it got there, SIGTERM must end it.
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const r = await done;
    expect(r.signal).toBe('SIGTERM');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp') || n === 'never.pcap')).toEqual([]);
  });
});

describe('printing respects back-pressure', () => {
  // About 21 MB of capture: far more than the few MB a bounded reader may hold.
  const total = 40000;
  const big = writeCapture([...synthesizeTraffic({ seed: 12, count: total })], { linkType: 1 });

  /** Feeds `bytes` to the child's stdin as fast as it takes them; `accepted()` counts what it took. */
  function feeder(child: ChildProcessWithoutNullStreams): { accepted: () => number; finished: Promise<void> } {
    let accepted = 0;
    child.stdin.on('error', () => undefined);
    const finished = (async () => {
      for (let at = 0; at < big.length && !child.stdin.destroyed; at += 1 << 16) {
        const piece = big.subarray(at, Math.min(at + (1 << 16), big.length));
        const ok = await new Promise<boolean>((resolve) => child.stdin.write(piece, (e) => resolve(!e)));
        if (!ok) return;
        accepted += piece.length;
      }
      child.stdin.end();
    })();
    return { accepted: () => accepted, finished };
  }

  it('`| head -1`: the reader goes away, bpfkit stops at once and quietly, having read little', async () => {
    const child = start(['filter', '-n', '-r', '-']);
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const input = feeder(child);
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString())));
    child.stdout.destroy();
    expect(await exited).toBe(0);
    await input.finished;
    expect(first).toMatch(/^\d\d:\d\d:\d\d\.\d{6} /);
    expect(stderr).toBe('reading from file -, link-type EN10MB (Ethernet), snapshot length 262144\n');
    // What it read before noticing: its 1 MiB read chunk, the pipe's buffer, a little printed output.
    expect(input.accepted()).toBeLessThan(4 << 20);
    expect(big.length).toBeGreaterThan(4 * (4 << 20));
  });

  it('a reader that stops reading holds bpfkit back: input taken stays bounded, and nothing is lost', async () => {
    const child = start(['filter', '-n', '-r', '-']);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const input = feeder(child);
    let lines = 0;
    const count = (b: Buffer): void => {
      for (const c of b) if (c === 10) lines++;
    };
    await new Promise<void>((resolve) =>
      child.stdout.once('data', (b: Buffer) => {
        count(b);
        child.stdout.pause();
        resolve();
      }),
    );
    // Wait until bpfkit takes no more input (it is blocked on our unread output): a wait, not a measure.
    let last = -1;
    while (input.accepted() !== last) {
      last = input.accepted();
      await new Promise((r) => setTimeout(r, 750));
    }
    const held = input.accepted();
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) * 1024;
    child.stdout.on('data', count);
    child.stdout.resume();
    expect(await exited).toBe(0);
    await input.finished;
    expect(held).toBeLessThan(4 << 20);
    expect(rss).toBeLessThan(400 << 20);
    expect(input.accepted()).toBe(big.length);
    expect(lines).toBe(total);
  });
});
