// The one output writer: what it replaces, what it writes in place, and that no temporary file outlives a failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFileWriter, removeStaleTempFiles, resolveOutputPath } from '../../src/node/index.js';
import { UsageError } from '../../src/util/index.js';
import { isRoot } from '../helpers/reference.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const temps = (d: string): string[] => readdirSync(d).filter((n) => n.endsWith('.tmp'));

/** The typed, one-line error a failing constructor or write throws. */
function errorOf(fn: () => void): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected an error');
}

/** A small tmpfs (root only), so a write runs out of space; unmounted by the caller. */
function mountTmpfs(name: string, options: string): string | undefined {
  if (!isRoot()) {
    console.warn(`[skip] ${name}: mounting a tmpfs needs root`);
    return undefined;
  }
  const mnt = path.join(dir, name);
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, `bpfkit-io-${name}`, mnt]);
  return mnt;
}

describe('AtomicFileWriter: what gets replaced', () => {
  it('a regular file is replaced at commit, keeping its mode, and nothing shows before', () => {
    const target = path.join(dir, 'plain.bin');
    writeFileSync(target, 'old', { mode: 0o600 });
    const w = new AtomicFileWriter(target);
    expect(w.kind).toBe('file');
    w.write(Uint8Array.of(1, 2, 3));
    expect(readFileSync(target, 'utf8')).toBe('old');
    w.commit();
    expect([...readFileSync(target)]).toEqual([1, 2, 3]);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(temps(dir)).toEqual([]);
  });

  it('a character device is written in place, never renamed over (/dev/null survives)', () => {
    const before = statSync('/dev/null');
    const w = new AtomicFileWriter('/dev/null');
    expect(w.kind).toBe('device');
    expect(w.tempPath).toBeUndefined();
    w.write(new Uint8Array(3 << 20));
    w.commit();
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.ino).toBe(before.ino);
    expect(after.rdev).toBe(before.rdev);
  });

  it('a FIFO is written in place: its reader gets the bytes and it stays a FIFO', async () => {
    const fifo = path.join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    const got: Buffer[] = [];
    reader.stdout.on('data', (b: Buffer) => got.push(b));
    const closed = new Promise((r) => reader.on('close', r));
    const w = new AtomicFileWriter(fifo);
    expect(w.kind).toBe('device');
    w.write(new TextEncoder().encode('through the fifo'));
    w.commit();
    await closed;
    expect(Buffer.concat(got).toString()).toBe('through the fifo');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  it('a symlink stays a symlink: its target is replaced (a dangling one is created)', () => {
    const real = path.join(dir, 'real.bin');
    writeFileSync(real, 'old');
    const link = path.join(dir, 'link.bin');
    symlinkSync('real.bin', link);
    const chain = path.join(dir, 'chain.bin');
    symlinkSync('link.bin', chain);
    expect(resolveOutputPath(chain)).toBe(real);
    const w = new AtomicFileWriter(chain);
    w.write(Uint8Array.of(9));
    w.commit();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(chain).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.bin');
    expect([...readFileSync(real)]).toEqual([9]);

    const dangling = path.join(dir, 'dangling.bin');
    symlinkSync('made-by-writer.bin', dangling);
    const d = new AtomicFileWriter(dangling);
    d.write(Uint8Array.of(7));
    d.commit();
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect([...readFileSync(path.join(dir, 'made-by-writer.bin'))]).toEqual([7]);
    expect(temps(dir)).toEqual([]);
  });

  it('a symlink loop is a typed error', () => {
    const a = path.join(dir, 'loop-a');
    const b = path.join(dir, 'loop-b');
    symlinkSync('loop-b', a);
    symlinkSync('loop-a', b);
    expect(errorOf(() => new AtomicFileWriter(a)).message).toMatch(/^cannot write .*loop-a: too many levels of symbolic links$/);
  });

  it('`-` writes to standard output (here: the sink given), nothing on disk', () => {
    const chunks: Uint8Array[] = [];
    const w = new AtomicFileWriter('-', { bufferSize: 4, stdout: (b) => chunks.push(b.slice()) });
    expect(w.kind).toBe('stdout');
    w.write(Uint8Array.of(1, 2, 3));
    w.write(Uint8Array.of(4, 5, 6));
    w.commit();
    expect([...Buffer.concat(chunks)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(existsSync('-')).toBe(false);
  });
});

describe('AtomicFileWriter: failures are typed, one line, and leave no temporary file', () => {
  it('EISDIR: a directory as the target', () => {
    const sub = path.join(dir, 'a-dir');
    mkdirSync(sub);
    const e = errorOf(() => new AtomicFileWriter(sub));
    expect(e.code).toBe('E_FILE');
    expect(e.message).toBe(`cannot write ${sub}: is a directory`);
    expect(temps(dir)).toEqual([]);
    expect(statSync(sub).isDirectory()).toBe(true);
  });

  it('ENOSPC on a direct write (/dev/full)', () => {
    const w = new AtomicFileWriter('/dev/full', 16);
    const e = errorOf(() => w.write(new Uint8Array(64)));
    expect(e.code).toBe('E_FILE');
    expect(e.message).toBe('cannot write /dev/full: no space left on device');
  });

  it('ENOSPC on a full file system: the temp file is removed and the old target kept', () => {
    const mnt = mountTmpfs('full', 'size=64k');
    if (!mnt) return;
    try {
      const target = path.join(mnt, 'out.pcap');
      writeFileSync(target, 'old');
      const w = new AtomicFileWriter(target, 4096);
      const e = errorOf(() => {
        for (let i = 0; i < 64; i++) w.write(new Uint8Array(4096));
        w.commit();
      });
      expect(e.message).toBe(`cannot write ${target}: no space left on device`);
      expect(temps(mnt)).toEqual([]);
      expect(readFileSync(target, 'utf8')).toBe('old');
      w.abort();
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('EROFS: a read-only file system', () => {
    const mnt = mountTmpfs('ro', 'size=64k,ro');
    if (!mnt) return;
    try {
      const e = errorOf(() => new AtomicFileWriter(path.join(mnt, 'x.bin')));
      expect(e.message).toBe(`cannot write ${path.join(mnt, 'x.bin')}: read-only file system`);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('a failing sink aborts the writer before the error reaches the caller', () => {
    const target = path.join(dir, 'sink-fails.bin');
    const w = new AtomicFileWriter('-', {
      bufferSize: 4,
      stdout: () => {
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      },
    });
    expect(errorOf(() => w.write(new Uint8Array(8))).message).toBe('cannot write -: i/o error');
    expect(() => w.write(Uint8Array.of(1))).toThrow(/after commit or abort/);
    expect(existsSync(target)).toBe(false);
  });
});

describe('stale temporary files', () => {
  it('of a dead process are removed on the next write to that name; a live one is kept', () => {
    const target = path.join(dir, 'stale.pcap');
    // A process id that existed and is gone: a child that has exited.
    const dead = spawnSync('true').pid!;
    const stale = path.join(dir, `.stale.pcap.${dead}.0.tmp`);
    const live = path.join(dir, `.stale.pcap.${process.ppid}.3.tmp`);
    const other = path.join(dir, `.other.pcap.${dead}.0.tmp`);
    for (const f of [stale, live, other]) writeFileSync(f, 'x');
    expect(removeStaleTempFiles(path.join(dir, 'nothing-here'))).toEqual([]);
    const w = new AtomicFileWriter(target);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    w.abort();
    rmSync(live);
    rmSync(other);
  });

  it('the temp files of a process killed mid-write (SIGKILL) are cleaned by the next writer', () => {
    const target = path.join(dir, 'killed.pcap');
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '-e', `import('./src/node/index.ts').then(m => { const w = new m.AtomicFileWriter(${JSON.stringify(target)}); w.write(new Uint8Array(10)); w.flush(); process.kill(process.pid, 'SIGKILL'); })`],
      { cwd: path.resolve(import.meta.dirname, '../..') },
    );
    expect(child.signal).toBe('SIGKILL');
    expect(temps(dir).filter((n) => n.startsWith('.killed.pcap.'))).toHaveLength(1);
    const w = new AtomicFileWriter(target);
    w.commit();
    expect(temps(dir)).toEqual([]);
  });
});
