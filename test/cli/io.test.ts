// Every file the CLI reads or writes, in-process: devices, symlinks, directories, full disks, FIFOs, `-`, empty captures, and tcpdump's option errors.
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { readCapture, synthesizeTraffic, writeCapture } from '../../src/pcap/index.js';
import { main } from '../../src/cli/main.js';
import { runCli } from '../helpers/cli.js';
import { isRoot } from '../helpers/reference.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-io-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const packets = [...synthesizeTraffic({ seed: 5, count: 3000 })];
const file = path.join(dir, 'in.pcap');
writeFileSync(file, writeCapture(packets, { linkType: 1 }));
const count = (expr: string): number => {
  const f = compileFilter(expr);
  return packets.filter((p) => f.interpret(p.data, p.origLen) !== 0).length;
};
const temps = (d: string): string[] => readdirSync(d).filter((n) => n.endsWith('.tmp'));
const READING = `reading from file ${file}, link-type EN10MB (Ethernet), snapshot length 262144\n`;

describe('-w: what is written and what is left alone', () => {
  it('-w /dev/null writes into the device and leaves it a device', async () => {
    const before = statSync('/dev/null');
    const r = await runCli(['filter', '-r', file, '-w', '/dev/null', 'tcp']);
    expect(r.status).toBe(0);
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.ino).toBe(before.ino);
  });

  it('-w through a symlink replaces its target and keeps the link', async () => {
    const link = path.join(dir, 'latest.pcap');
    symlinkSync('target.pcap', link);
    const r = await runCli(['filter', '-r', file, '-w', link, 'udp']);
    expect(r.status).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('target.pcap');
    expect(readCapture(new Uint8Array(readFileSync(path.join(dir, 'target.pcap')))).packets.length).toBe(count('udp'));
  });

  it('-w DIR: exit status 1, a one-line error, no temporary file', async () => {
    const sub = path.join(dir, 'out-dir');
    mkdirSync(sub);
    const r = await runCli(['filter', '-r', file, '-w', sub]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`bpfkit filter: cannot write ${sub}: is a directory\n`);
    expect(temps(dir)).toEqual([]);
    expect(temps(sub)).toEqual([]);
    const s = await runCli(['sample', '-w', sub, '-c', '10']);
    expect(s.status).toBe(1);
    expect(s.stderr).toBe(`bpfkit sample: cannot write ${sub}: is a directory\n`);
  });

  it('-w /dev/full (ENOSPC on a direct write): exit status 1, a one-line error', async () => {
    const r = await runCli(['filter', '-r', file, '-w', '/dev/full']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(READING + 'bpfkit filter: cannot write /dev/full: no space left on device\n');
  });

  it('-w on a full file system (filter, sample): exit status 1, a one-line error, no temporary file', async () => {
    if (!isRoot()) {
      console.warn('[skip] ENOSPC through the CLI: mounting a tmpfs needs root');
      return;
    }
    const mnt = path.join(dir, 'small');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'bpfkit-io-cli', mnt]);
    try {
      const out = path.join(mnt, 'out.pcap');
      const r = await runCli(['filter', '-r', file, '-w', out]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(READING + `bpfkit filter: cannot write ${out}: no space left on device\n`);
      const s = await runCli(['sample', '-w', out, '-c', '5000']);
      expect(s.status).toBe(1);
      expect(s.stderr).toBe(`bpfkit sample: cannot write ${out}: no space left on device\n`);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('-w - writes the same capture to standard output as -w FILE writes to the file', async () => {
    const out = path.join(dir, 'same.pcap');
    const a = await runCli(['filter', '-r', file, '-w', out, 'tcp port 80']);
    const b = await runCli(['filter', '-r', file, '-w', '-', 'tcp port 80']);
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(b.stdoutBytes.length).toBeGreaterThan(24);
    expect(b.stdoutBytes.equals(readFileSync(out))).toBe(true);
    expect(readdirSync(process.cwd()).includes('-')).toBe(false);
  });

  it('-w x.pcapng with no matching packet is still a valid capture (section header and interface)', async () => {
    const out = path.join(dir, 'empty.pcapng');
    const r = await runCli(['filter', '-r', file, '-w', out, 'port 1']);
    expect(r.status).toBe(0);
    const cap = readCapture(new Uint8Array(readFileSync(out)));
    expect(cap.format).toBe('pcapng');
    expect(cap.packets).toEqual([]);
    const info = await runCli(['capinfo', out]);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/^Interfaces:\s+1$/m);
    expect(info.stdout).toMatch(/^Packets:\s+0$/m);
  });

  it('ebpf asm -o: /dev/null stays a device, a directory is a one-line error', async () => {
    const src = path.join(dir, 'p.s');
    writeFileSync(src, 'r0 = 1\nexit\n');
    expect((await runCli(['ebpf', 'asm', '-o', '/dev/null', src])).status).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const r = await runCli(['ebpf', 'asm', '-o', dir, src]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`bpfkit ebpf asm: cannot write ${dir}: is a directory\n`);
    const out = path.join(dir, 'p.bin');
    expect((await runCli(['ebpf', 'asm', '-o', out, src])).status).toBe(0);
    expect(readFileSync(out).length).toBe(16);
    expect(temps(dir)).toEqual([]);
  });
});

describe('read-only file systems', () => {
  it('ebpf asm -o and filter -w on a read-only mount: exit status 1, a one-line error, nothing written', async () => {
    if (!isRoot()) {
      console.warn('[skip] EROFS through the CLI: mounting a tmpfs needs root');
      return;
    }
    const mnt = path.join(dir, 'ro');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'bpfkit-io-ro', mnt]);
    try {
      const src = path.join(dir, 'ro.s');
      writeFileSync(src, 'r0 = 0\nexit\n');
      const out = path.join(mnt, 'p.bin');
      const a = await runCli(['ebpf', 'asm', '-o', out, src]);
      expect(a.status).toBe(1);
      expect(a.stderr).toBe(`bpfkit ebpf asm: cannot write ${out}: read-only file system\n`);
      const f = await runCli(['filter', '-r', file, '-w', path.join(mnt, 'x.pcap')]);
      expect(f.status).toBe(1);
      expect(f.stderr).toBe(`bpfkit filter: cannot write ${path.join(mnt, 'x.pcap')}: read-only file system\n`);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('-l: line-buffered printing', () => {
  it('writes each packet line as it is printed (one write per packet), without -l in 64 KiB pieces', async () => {
    const writes = async (extra: string[]): Promise<string[]> => {
      const out: string[] = [];
      const status = await main(['filter', '-r', file, '-n', '-c', '50', ...extra], { stdout: (t) => out.push(t), stderr: () => undefined, isTTY: false });
      expect(status).toBe(0);
      return out;
    };
    const lined = await writes(['-l']);
    expect(lined).toHaveLength(50);
    for (const w of lined) expect(w).toMatch(/^[^\n]+\n$/);
    const buffered = await writes([]);
    expect(buffered).toHaveLength(1);
    expect(buffered.join('')).toBe(lined.join(''));
  });
});

describe('-r: any readable input', () => {
  it('a named FIFO is opened once and read to the end (--count and -w)', async () => {
    const fifo = path.join(dir, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    const feed = (): Promise<unknown> => new Promise((r) => spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', file, fifo]).on('close', r));
    let fed = feed();
    const r = await runCli(['filter', '-r', fifo, '--count', 'tcp']);
    await fed;
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${count('tcp')} packets\n`);
    expect(r.stderr).toBe(`reading from file ${fifo}, link-type EN10MB (Ethernet), snapshot length 262144\n`);
    fed = feed();
    const out = path.join(dir, 'from-fifo.pcap');
    const w = await runCli(['filter', '-r', fifo, '-w', out, 'arp']);
    await fed;
    expect(w.status).toBe(0);
    expect(readCapture(new Uint8Array(readFileSync(out))).packets.length).toBe(count('arp'));
  });
});

describe("tcpdump's option errors", () => {
  it('-c 0 and -c abc are errors worded as tcpdump words them', async () => {
    for (const c of ['0', 'abc', '-1']) {
      const r = await runCli(['filter', '-r', file, '-c', c]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`bpfkit filter: invalid packet count ${c}\n`);
    }
  });

  it('an option error names the option as typed', async () => {
    const r = await runCli(['filter', '-r', file, '-s', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('bpfkit filter: option -s needs a non-negative integer, got "abc"\n');
    const s = await runCli(['sample', '-w', path.join(dir, 'x.pcap'), '--count', 'many']);
    expect(s.stderr).toBe('bpfkit sample: option --count needs a non-negative integer, got "many"\n');
  });

  it('reading a file prints the reading-from line on stderr, also with --count and -w', async () => {
    for (const extra of [['--count'], ['-w', path.join(dir, 'r.pcap')], ['-c', '1']]) {
      const r = await runCli(['filter', '-r', file, ...extra]);
      expect(r.stderr).toBe(READING);
    }
  });

  it("'ip broadcast' compiles as tcpdump -r compiles it (netmask 0)", async () => {
    const r = await runCli(['filter', '-r', file, '--count', 'ip broadcast']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${count('ip dst 0.0.0.0 or ip dst 255.255.255.255')} packets\n`);
    const c = await runCli(['compile', 'ip', 'broadcast']);
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/jeq +#0xffffffff/);
  });
});
