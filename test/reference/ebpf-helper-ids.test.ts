/** The helper id table against the installed <linux/bpf.h> (`__BPF_FUNC_MAPPER`): same names at the same ids, as far as the header goes. */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectFloor, skipReason } from '../helpers/reference.js';
import { HELPER_FUNCS } from '../../src/ebpf/index.js';

const HEADER = '/usr/include/linux/bpf.h';
const skip = skipReason('helper ids vs <linux/bpf.h>', { files: [HEADER] });

describe.skipIf(skip)('helper ids vs <linux/bpf.h>', () => {
  it('lists the header\'s helpers at the same ids', () => {
    const text = readFileSync(HEADER, 'utf8');
    const start = text.indexOf('#define __BPF_FUNC_MAPPER');
    const body = text.slice(start, text.indexOf('/* */', start));
    // Newer headers write FN(name, id, ##ctx); older ones FN(name) in id order.
    const names = [...body.matchAll(/FN\((\w+)(?:,\s*(\d+))?/g)].map((m, i) => ({ name: m[1], id: m[2] === undefined ? i : Number(m[2]) }));
    expectFloor('ebpf-helper-ids: names.length', names.length, 200);
    for (const { name, id } of names) expect(HELPER_FUNCS[id], `id ${id}`).toBe(name);
  });
});
