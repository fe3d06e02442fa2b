// bpf_attr / perf_event_attr / sock_fprog encoders: field offsets checked against the C compiler's offsetof over the system headers.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BPF_ATTR_SIZE, batchCount, linkCreateAttr, mapBatchAttr, mapCreateAttr, mapElemAttr, objAttr, objGetInfoAttr, perfEventAttr,
  progAttachAttr, progLoadAttr, sockFilterBytes, sockFprog, testRunAttr, testRunOut, btfLoadAttr, linkDetachAttr,
} from '../../src/kernel/index.js';
import { skipReason } from '../helpers/reference.js';

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Writes a distinct marker into every field and asks gcc where each lands. */
function offsetsFromC(fields: string[], type = 'union bpf_attr', header = 'linux/bpf.h'): Map<string, number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-attr-'));
  const src = path.join(dir, 'off.c');
  writeFileSync(src, `#include <stdio.h>\n#include <stddef.h>\n#include <${header}>\nint main(void){\n${fields.map((f) => `printf("%s %zu\\n", "${f}", offsetof(${type}, ${f}));`).join('\n')}\nreturn 0;}\n`);
  let out: string;
  try {
    execFileSync('gcc', ['-o', path.join(dir, 'off'), src]);
    out = execFileSync(path.join(dir, 'off'), { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return new Map(out.trim().split('\n').map((l) => { const [f, o] = l.split(' '); return [f, Number(o)]; }));
}

/** The offset at which a u32 marker shows up in an encoded struct. */
function find32(b: Uint8Array, v: number): number {
  for (let i = 0; i + 4 <= b.length; i += 4) if (dv(b).getUint32(i, true) === v) return i;
  return -1;
}

const why = skipReason('bpf_attr layout vs gcc offsetof', { commands: ['gcc'], files: ['/usr/include/linux/bpf.h'] });

describe.skipIf(why !== undefined)('attr layouts match <linux/bpf.h>', () => {
  it('MAP_CREATE, elem ops, batch, PROG_LOAD, TEST_RUN, OBJ_*, LINK_*, BTF_LOAD, GET_INFO', () => {
    const c = offsetsFromC([
      'map_type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'inner_map_fd', 'map_name', 'map_fd', 'key', 'value', 'flags',
      'batch.in_batch', 'batch.out_batch', 'batch.keys', 'batch.values', 'batch.count', 'batch.map_fd', 'batch.elem_flags',
      'prog_type', 'insn_cnt', 'insns', 'license', 'log_level', 'log_size', 'log_buf', 'prog_flags', 'prog_name', 'expected_attach_type', 'attach_btf_id',
      'test.prog_fd', 'test.retval', 'test.data_size_in', 'test.data_size_out', 'test.data_in', 'test.data_out', 'test.repeat', 'test.duration',
      'test.ctx_size_in', 'test.ctx_size_out', 'test.ctx_in', 'test.ctx_out',
      'pathname', 'bpf_fd', 'file_flags', 'target_fd', 'attach_bpf_fd', 'attach_type', 'attach_flags', 'replace_bpf_fd',
      'link_create.prog_fd', 'link_create.target_fd', 'link_create.attach_type', 'link_create.flags', 'link_create.target_btf_id',
      'link_detach.link_fd', 'btf', 'btf_log_buf', 'btf_size', 'btf_log_size', 'btf_log_level', 'info.bpf_fd', 'info.info_len', 'info.info',
    ]);
    const mc = mapCreateAttr({ mapType: 0x1001, keySize: 0x1002, valueSize: 0x1003, maxEntries: 0x1004, mapFlags: 0x1005, innerMapFd: 0x1006, name: 'abc' });
    expect([find32(mc, 0x1001), find32(mc, 0x1002), find32(mc, 0x1003), find32(mc, 0x1004), find32(mc, 0x1005), find32(mc, 0x1006)])
      .toEqual(['map_type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'inner_map_fd'].map((f) => c.get(f)));
    expect(new TextDecoder().decode(mc.subarray(c.get('map_name')!, c.get('map_name')! + 3))).toBe('abc');

    const el = mapElemAttr(0x2001, 0x2002n, 0x2003n, 0x2004);
    expect([find32(el, 0x2001), find32(el, 0x2002), find32(el, 0x2003), find32(el, 0x2004)]).toEqual(['map_fd', 'key', 'value', 'flags'].map((f) => c.get(f)));

    const ba = mapBatchAttr({ mapFd: 0x3001, inBatch: 0x3002n, outBatch: 0x3003n, keys: 0x3004n, values: 0x3005n, count: 0x3006, elemFlags: 0x3007 });
    expect([0x3002, 0x3003, 0x3004, 0x3005, 0x3006, 0x3001, 0x3007].map((v) => find32(ba, v)))
      .toEqual(['batch.in_batch', 'batch.out_batch', 'batch.keys', 'batch.values', 'batch.count', 'batch.map_fd', 'batch.elem_flags'].map((f) => c.get(f)));
    expect(batchCount(ba)).toBe(0x3006);

    const pl = progLoadAttr({ progType: 0x4001, insnCnt: 0x4002, insns: 0x4003n, license: 0x4004n, logLevel: 0x4005, logSize: 0x4006, logBuf: 0x4007n, progFlags: 0x4008, expectedAttachType: 0x4009, attachBtfId: 0x400a, name: 'p' });
    expect([0x4001, 0x4002, 0x4003, 0x4004, 0x4005, 0x4006, 0x4007, 0x4008, 0x4009, 0x400a].map((v) => find32(pl, v)))
      .toEqual(['prog_type', 'insn_cnt', 'insns', 'license', 'log_level', 'log_size', 'log_buf', 'prog_flags', 'expected_attach_type', 'attach_btf_id'].map((f) => c.get(f)));
    expect(pl[c.get('prog_name')!]).toBe('p'.charCodeAt(0));

    const tr = testRunAttr({ progFd: 0x5001, dataSizeIn: 0x5002, dataSizeOut: 0x5003, dataIn: 0x5004n, dataOut: 0x5005n, repeat: 0x5006, ctxSizeIn: 0x5007, ctxSizeOut: 0x5008, ctxIn: 0x5009n, ctxOut: 0x500an });
    expect([0x5001, 0x5002, 0x5003, 0x5004, 0x5005, 0x5006, 0x5007, 0x5008, 0x5009, 0x500a].map((v) => find32(tr, v)))
      .toEqual(['test.prog_fd', 'test.data_size_in', 'test.data_size_out', 'test.data_in', 'test.data_out', 'test.repeat', 'test.ctx_size_in', 'test.ctx_size_out', 'test.ctx_in', 'test.ctx_out'].map((f) => c.get(f)));
    dv(tr).setUint32(c.get('test.retval')!, 77, true);
    dv(tr).setUint32(c.get('test.duration')!, 99, true);
    expect(testRunOut(tr)).toMatchObject({ retval: 77, duration: 99, dataSizeOut: 0x5003 });

    const ob = objAttr(0x6001n, 0x6002, 0x6003);
    expect([0x6001, 0x6002, 0x6003].map((v) => find32(ob, v))).toEqual(['pathname', 'bpf_fd', 'file_flags'].map((f) => c.get(f)));
    const pa = progAttachAttr(0x7001, 0x7002, 0x7003, 0x7004, 0x7005);
    expect([0x7001, 0x7002, 0x7003, 0x7004, 0x7005].map((v) => find32(pa, v))).toEqual(['target_fd', 'attach_bpf_fd', 'attach_type', 'attach_flags', 'replace_bpf_fd'].map((f) => c.get(f)));
    const lc = linkCreateAttr({ progFd: 0x8001, targetFd: 0x8002, attachType: 0x8003, flags: 0x8004, targetBtfId: 0x8005 });
    expect([0x8001, 0x8002, 0x8003, 0x8004, 0x8005].map((v) => find32(lc, v)))
      .toEqual(['link_create.prog_fd', 'link_create.target_fd', 'link_create.attach_type', 'link_create.flags', 'link_create.target_btf_id'].map((f) => c.get(f)));
    expect(find32(linkDetachAttr(0x8101), 0x8101)).toBe(c.get('link_detach.link_fd'));
    const bl = btfLoadAttr(0x9001n, 0x9002, 0x9003n, 0x9004, 0x9005);
    expect([0x9001, 0x9002, 0x9003, 0x9004, 0x9005].map((v) => find32(bl, v))).toEqual(['btf', 'btf_size', 'btf_log_buf', 'btf_log_size', 'btf_log_level'].map((f) => c.get(f)));
    const gi = objGetInfoAttr(0xa001, 0xa002n, 0xa003);
    expect([0xa001, 0xa003, 0xa002].map((v) => find32(gi, v))).toEqual(['info.bpf_fd', 'info.info_len', 'info.info'].map((f) => c.get(f)));
    for (const a of [mc, el, ba, pl, tr, ob, pa, lc, bl, gi]) expect(a.length).toBe(BPF_ATTR_SIZE);
  });

  it('perf_event_attr fields', () => {
    const c = offsetsFromC(['type', 'size', 'config', 'sample_period', 'sample_type', 'read_format', 'wakeup_events', 'bp_type', 'config1', 'config2'], 'struct perf_event_attr', 'linux/perf_event.h');
    const p = perfEventAttr({ type: 0xb001, config: 0xb002n, samplePeriod: 0xb003n, sampleType: 0xb004n, readFormat: 0xb005n, wakeupEvents: 0xb006, bpType: 0xb007, config1: 0xb008n, config2: 0xb009n });
    expect([0xb001, 0xb002, 0xb003, 0xb004, 0xb005, 0xb006, 0xb007, 0xb008, 0xb009].map((v) => find32(p, v)))
      .toEqual(['type', 'config', 'sample_period', 'sample_type', 'read_format', 'wakeup_events', 'bp_type', 'config1', 'config2'].map((f) => c.get(f)));
    expect(dv(p).getUint32(c.get('size')!, true)).toBe(p.length);
  });
});

describe('sock_filter / sock_fprog', () => {
  it('encodes sock_filter as u16 code, u8 jt, u8 jf, u32 k (tcpdump -dd order)', () => {
    const b = sockFilterBytes([{ code: 0x28, jt: 0, jf: 0, k: 12 }, { code: 0x15, jt: 1, jf: 2, k: 0x800 }, { code: 0x6, jt: 0, jf: 0, k: 0xffffffff }]);
    expect(Array.from(b)).toEqual([0x28, 0, 0, 0, 12, 0, 0, 0, 0x15, 0, 1, 2, 0, 8, 0, 0, 6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const f = sockFprog(3, 0x1122334455n);
    expect(dv(f).getUint16(0, true)).toBe(3);
    expect(dv(f).getBigUint64(8, true)).toBe(0x1122334455n);
  });

  it('refuses empty and oversized programs with a typed error', () => {
    expect(() => sockFilterBytes([])).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => sockFilterBytes(Array.from({ length: 4097 }, () => ({ code: 6, jt: 0, jf: 0, k: 0 })))).toThrow(/4096/);
  });
});
