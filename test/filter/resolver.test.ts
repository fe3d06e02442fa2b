/** Name tables for filters: IPv6 text, inet_network, hosts/ethers/networks/services text, and the built-in tables. */

import { describe, expect, test } from 'vitest';
import {
  lookupProtocol, lookupService, parseEthersText, parseHostsText, parseNetworksText, parseServicesText, resolverFromTables,
} from '../../src/filter/index.js';
import { inetNetwork, parseIpv6 } from '../../src/filter/names/resolver.js';

describe('name resolution', () => {
  test('IPv6 text to bytes', () => {
    expect(Array.from(parseIpv6('::1') ?? [])).toEqual([...new Array<number>(15).fill(0), 1]);
    expect(Array.from(parseIpv6('fe80::a:b') ?? []).slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(Array.from(parseIpv6('::ffff:1.2.3.4') ?? []).slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIpv6('1::2::3')).toBeUndefined();
    expect(parseIpv6('::1.2.3.256')).toBeUndefined();
    expect(parseIpv6('1:2:3:4:5:6:7')).toBeUndefined();
  });

  test('inet_network keeps partial networks right-aligned', () => {
    expect(inetNetwork('10.20')).toBe(0x0a14);
    expect(inetNetwork('10.20.0.0')).toBe(0x0a140000);
    expect(inetNetwork('300.1')).toBeUndefined();
  });

  test('tables parse and resolve case-insensitively', () => {
    const r = resolverFromTables({
      hosts: parseHostsText('# comment\n10.0.0.1 Alpha alpha.lan\nfe80::1 alpha\n'),
      ethers: parseEthersText('aa:bb:cc:dd:ee:ff gw\n'),
      networks: parseNetworksText('lab 10.20\n'),
    });
    expect(r.host?.('ALPHA')?.ipv4).toEqual([0x0a000001]);
    expect(r.host?.('alpha')?.ipv6.length).toBe(1);
    expect(r.host?.('alpha.lan')?.ipv4).toEqual([0x0a000001]);
    expect(Array.from(r.ether?.('GW') ?? [])).toEqual([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    expect(r.network?.('lab')).toBe(0x0a14);
    expect(r.host?.('beta')).toBeUndefined();
  });

  test('services and protocols: a resolver first, then the built-in tables', () => {
    expect(lookupService(undefined, 'domain', 'udp')).toBe(53);
    expect(lookupService(undefined, 'http', 'tcp')).toBe(80);
    expect(lookupService(undefined, 'no-such-service', 'tcp')).toBe(-1);
    const svc = parseServicesText('myproto 4242/tcp alias\n');
    expect(lookupService({ service: svc }, 'alias', 'tcp')).toBe(4242);
    expect(lookupProtocol(undefined, 'tcp')).toBe(6);
    expect(lookupProtocol(undefined, 'ipv6-icmp')).toBe(58);
    expect(lookupProtocol(undefined, 'nope')).toBe(-1);
  });
});
