/** The link-type table: names, numbers, descriptions both ways, and the LINKTYPE_/DLT_ differences. */

import { describe, expect, it } from 'vitest';
import {
  LINK_TYPES,
  dltToLinkType,
  linkTypeDescription,
  linkTypeFromName,
  linkTypeName,
  linkTypeToDlt,
  maxSnaplenForDlt,
  requireLinkType,
} from '../../src/pcap/index.js';
import { UsageError } from '../../src/util/index.js';

describe('link types', () => {
  it('names the link types the filter compiler uses, both ways', () => {
    const expected: [string, number][] = [
      ['EN10MB', 1],
      ['RAW', 12],
      ['LINUX_SLL', 113],
      ['LINUX_SLL2', 276],
      ['IEEE802_11_RADIO', 127],
      ['NULL', 0],
      ['LOOP', 108],
      ['PFLOG', 117],
    ];
    for (const [name, value] of expected) {
      expect(linkTypeFromName(name)).toBe(value);
      expect(linkTypeFromName(name.toLowerCase())).toBe(value);
      expect(linkTypeFromName(`DLT_${name}`)).toBe(value);
      expect(linkTypeName(value)).toBe(name);
    }
    expect(linkTypeDescription(1)).toBe('Ethernet');
    expect(linkTypeFromName('LINKTYPE_ETHERNET')).toBe(1);
    expect(linkTypeFromName('no-such-type')).toBeUndefined();
    expect(linkTypeName(65000)).toBeUndefined();
  });

  it('every table entry round-trips and names are unique', () => {
    const names = new Set<string>();
    for (const e of LINK_TYPES) {
      expect(linkTypeFromName(e.name)).toBe(e.value);
      expect(linkTypeName(e.value)).toBe(e.name);
      expect(names.has(e.name)).toBe(false);
      names.add(e.name);
    }
    expect(LINK_TYPES.length).toBeGreaterThan(140);
  });

  it('maps the file values that differ from the DLT values, and back', () => {
    for (const [lt, dlt] of [
      [100, 11],
      [101, 12],
      [102, 15],
      [103, 16],
      [106, 19],
    ]) {
      expect(linkTypeToDlt(lt)).toBe(dlt);
      expect(dltToLinkType(dlt)).toBe(lt);
      expect(linkTypeName(lt)).toBe(linkTypeName(dlt));
    }
    expect(linkTypeToDlt(1)).toBe(1);
    expect(dltToLinkType(276)).toBe(276);
  });

  it('knows the per-link-type snaplen maxima', () => {
    expect(maxSnaplenForDlt(1)).toBe(262144);
    expect(maxSnaplenForDlt(linkTypeFromName('DBUS')!)).toBe(128 * 1024 * 1024);
    expect(maxSnaplenForDlt(linkTypeFromName('USBPCAP')!)).toBe(1024 * 1024);
    expect(maxSnaplenForDlt(linkTypeFromName('EBHSCR')!)).toBe(8 * 1024 * 1024);
  });

  it('requireLinkType accepts numbers and names and rejects unknown names', () => {
    expect(requireLinkType('276')).toBe(276);
    expect(requireLinkType('raw')).toBe(12);
    expect(() => requireLinkType('bogus')).toThrow(UsageError);
  });
});
