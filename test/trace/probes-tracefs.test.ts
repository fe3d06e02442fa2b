/** tracefs: format files parsed as bpftrace parses them (fixtures and every format file of this machine), and finding or mounting tracefs. */

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProbeError, adjustIntegerType, ensureTracefs, findTracefs, parseTracepointFormat } from '../../src/trace/probes/index.js';
import type { TracefsEnv } from '../../src/trace/probes/index.js';
import { skipReason } from '../helpers/reference.js';

const FORMAT = `name: sched_process_exec
ID: 305
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;
\tfield:const char * name;\toffset:32;\tsize:8;\tsigned:0;
\tfield:u8 data[];\toffset:40;\tsize:0;\tsigned:0;

print fmt: "filename=%s pid=%d", __get_str(filename), REC->pid
`;

describe('parseTracepointFormat', () => {
  it('reads fields, common header, __data_loc, arrays, id and name', () => {
    const f = parseTracepointFormat(FORMAT, 'sched');
    expect(f.name).toBe('sched_process_exec');
    expect(f.id).toBe(305);
    expect(f.fields.map((x) => [x.name, x.type, x.offset, x.size, x.signed, x.common, x.dataLoc, x.arrayLength])).toEqual([
      ['common_type', 'unsigned short', 0, 2, false, true, false, undefined],
      ['common_flags', 'unsigned char', 2, 1, false, true, false, undefined],
      ['common_preempt_count', 'unsigned char', 3, 1, false, true, false, undefined],
      ['common_pid', 'int', 4, 4, true, true, false, undefined],
      ['filename', '__data_loc char[]', 8, 4, false, false, true, undefined],
      ['pid', 'pid_t', 12, 4, true, false, false, undefined],
      ['comm', 'char', 16, 16, false, false, false, 16],
      ['name', 'const char *', 32, 8, false, false, false, undefined],
      ['data', 'u8', 40, 0, false, false, false, 0],
    ]);
  });

  it('a malformed line is a ProbeError with its line number', () => {
    const bad = 'name: x\nformat:\n\tfield:int a;\toffset:zz;\tsize:4;\tsigned:1;\n';
    expect(() => parseTracepointFormat(bad)).toThrow(ProbeError);
    try {
      parseTracepointFormat(bad);
    } catch (e) {
      expect((e as ProbeError).code).toBe('E_PROBE_FORMAT');
      expect((e as ProbeError).position?.line).toBe(3);
    }
    expect(() => parseTracepointFormat('\tfield:int a[N];\toffset:0;\tsize:4;\tsigned:1;')).toThrow(/array size/);
    expect(() => parseTracepointFormat('\tfield:int a;\toffset:0;\tsize:4;')).toThrow(/signed:/);
  });

  it('bpftrace widens int fields stored in 8 bytes (syscall records)', () => {
    expect([adjustIntegerType('int', 8), adjustIntegerType('pid_t', 8), adjustIntegerType('int', 4), adjustIntegerType('long', 8)]).toEqual(['s64', 'u64', 'int', 'long']);
  });
});

function fakeEnv(files: Record<string, string>, opts: { root?: boolean; mountFails?: boolean } = {}): TracefsEnv & { mounted: string[] } {
  const mounted: string[] = [];
  return {
    mounted,
    readFile: async (p) => {
      if (p in files) return files[p];
      throw new Error(`ENOENT ${p}`);
    },
    exists: async (p) => p in files || Object.keys(files).some((f) => f.startsWith(`${p}/`)) || mounted.some((m) => p.startsWith(m)),
    isRoot: () => opts.root ?? false,
    mountTracefs: async (t) => {
      if (opts.mountFails) throw new Error('mount: permission denied');
      mounted.push(t);
    },
  };
}

describe('finding and mounting tracefs', () => {
  it('prefers /sys/kernel/tracing, falls back to debugfs', async () => {
    expect(await findTracefs(fakeEnv({ '/sys/kernel/debug/tracing/events/x': '' }))).toBe('/sys/kernel/debug/tracing');
    expect(await ensureTracefs(fakeEnv({ '/sys/kernel/tracing/events/x': '' }))).toBe('/sys/kernel/tracing');
  });

  it('mounts it when missing and root; names the cause otherwise', async () => {
    const env = fakeEnv({}, { root: true });
    expect(await ensureTracefs(env)).toBe('/sys/kernel/tracing');
    expect(env.mounted).toEqual(['/sys/kernel/tracing']);
    await expect(ensureTracefs(fakeEnv({}))).rejects.toMatchObject({ code: 'E_PROBE_TRACEFS', message: expect.stringMatching(/not mounted/) });
    await expect(ensureTracefs(fakeEnv({}, { root: true, mountFails: true }))).rejects.toMatchObject({ code: 'E_PROBE_TRACEFS', message: expect.stringMatching(/permission denied/) });
  });
});

const live = skipReason('tracefs format files', { files: ['/sys/kernel/tracing/events'] });

describe.skipIf(live !== undefined)('every format file of this kernel', () => {
  it('parses, with non-overlapping fields inside the record', () => {
    let n = 0;
    for (const cat of readdirSync('/sys/kernel/tracing/events', { withFileTypes: true })) {
      if (!cat.isDirectory()) continue;
      for (const ev of readdirSync(`/sys/kernel/tracing/events/${cat.name}`, { withFileTypes: true })) {
        if (!ev.isDirectory()) continue;
        let text: string;
        try {
          text = readFileSync(`/sys/kernel/tracing/events/${cat.name}/${ev.name}/format`, 'utf8');
        } catch {
          continue;
        }
        const f = parseTracepointFormat(text, cat.name, ev.name);
        expect(f.id, `${cat.name}:${ev.name}`).toBeGreaterThan(0);
        expect(f.fields.filter((x) => x.common).map((x) => x.name), `${cat.name}:${ev.name}`).toEqual(['common_type', 'common_flags', 'common_preempt_count', 'common_pid']);
        for (let i = 1; i < f.fields.length; i++) expect(f.fields[i].offset, `${cat.name}:${ev.name}:${f.fields[i].name}`).toBeGreaterThanOrEqual(f.fields[i - 1].offset + f.fields[i - 1].size);
        n++;
      }
    }
    expect(n).toBeGreaterThan(100);
  });
});
