/** bpfkit's link-type table against libpcap's own (`pcap_datalink_val_to_name`, `_description`, `pcap_datalink_name_to_val`). */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LINK_TYPES, linkTypeDescription, linkTypeFromName, linkTypeName } from '../../src/pcap/index.js';
import { buildNative } from '../helpers/native.js';
import { expectFloor, skipReason } from '../helpers/reference.js';

const skip = skipReason('link types vs libpcap', { commands: ['gcc'], files: ['/usr/include/pcap/pcap.h'] });

describe.skipIf(skip !== undefined)('link types vs libpcap', () => {
  const exe = skip ? '' : buildNative('pcap-dump', ['-lpcap']);

  it('names and describes every value libpcap names, and no other', () => {
    const rows = execFileSync(exe, ['--dlt-table'])
      .toString()
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    expectFloor('pcap-link-types: rows.length', rows.length, 145);
    expect(LINK_TYPES.map((e) => [String(e.value), e.name, e.description])).toEqual(rows);
    for (const [value, name, description] of rows) {
      expect(linkTypeName(Number(value))).toBe(name);
      expect(linkTypeDescription(Number(value))).toBe(description);
    }
  });

  it('looks names up as pcap_datalink_name_to_val does (case-insensitive; unknown is -1)', () => {
    const names = [...LINK_TYPES.map((e) => e.name), ...LINK_TYPES.map((e) => e.name.toLowerCase()), 'En10Mb', 'bogus', 'DLT_EN10MB', ''];
    const out = execFileSync(exe, ['--dlt-name', ...names]).toString().split('\n');
    names.forEach((name, i) => {
      const ref = Number(out[i].split('\t')[1]);
      // bpfkit also accepts the DLT_/LINKTYPE_ prefixes, which libpcap does not.
      if (name.startsWith('DLT_')) return;
      expect(linkTypeFromName(name) ?? -1).toBe(ref);
    });
  });
});
