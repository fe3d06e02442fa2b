// Link layers and LLC-level printers (PPP, Cisco HDLC, MPLS, 802.3 LLC/SNAP, STP, 802.11, radiotap) on packets built here.
import { describe, expect, it } from 'vitest';
import { decodePacket, type DecodeOptions } from '../../src/decode/index.js';

const bytes = (...parts: (number | number[] | Uint8Array)[]): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else out.push(...p);
  }
  return new Uint8Array(out);
};
const be16 = (n: number): number[] => [n >> 8, n & 0xff];
const be32 = (n: number): number[] => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const le16 = (n: number): number[] => [n & 0xff, n >> 8];

/** IPv4 10.0.0.1:1234 > 10.0.0.2:5678 carrying a UDP datagram with 4 payload bytes (32 bytes). */
const IP_UDP = bytes(0x45, 0, be16(32), be16(1), 0, 0, 64, 17, 0, 0, [10, 0, 0, 1], [10, 0, 0, 2], be16(1234), be16(5678), be16(12), 0, 0, [1, 2, 3, 4]);
const UDP_TEXT = 'IP 10.0.0.1.1234 > 10.0.0.2.5678: UDP, length 4';
const MAC_A = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];
const MAC_C = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

function decode(linkType: number, data: Uint8Array, options: DecodeOptions = {}, origLen = data.length) {
  return decodePacket(data, origLen, linkType, options);
}

describe('PPP', () => {
  it('prints IPv4 after an address/control field', () => {
    const d = decode(9, bytes(0xff, 0x03, be16(0x21), IP_UDP));
    expect(d.text).toBe(UDP_TEXT);
    expect(d.complete).toBe(true);
    expect(d.layers[0]).toEqual({ protocol: 'ppp', type: 0x21 });
  });
  it('prints the protocol and length with -e', () => {
    expect(decode(9, bytes(0xff, 0x03, be16(0x21), IP_UDP), { linkHeader: true }).text).toBe('IP (0x0021), length 36: 10.0.0.1.1234 > 10.0.0.2.5678: UDP, length 4');
  });
  it('reads a compressed one-byte protocol field', () => {
    expect(decode(9, bytes(0x21, IP_UDP)).text).toBe(UDP_TEXT);
  });
  it('marks control protocols as not fully decoded', () => {
    const d = decode(9, bytes(0xff, 0x03, be16(0xc021), 1, 1, be16(4)));
    expect(d.complete).toBe(false);
    expect(d.text).toBe('LCP ');
  });
  it('prints a truncation mark for a short header', () => {
    expect(decode(9, bytes(0xff, 0x03), {}, 40).text).toBe(' [|ppp]');
  });
  it('names the protocol in HDLC-framed PPP (PPP_SERIAL)', () => {
    expect(decode(50, bytes(0xff, 0x03, be16(0x21), IP_UDP)).text).toBe(`IP: ${UDP_TEXT}`);
    expect(decode(50, bytes(0xff, 0x03, be16(0x21), IP_UDP), { linkHeader: true }).text).toBe('ff 03 36 IP: 10.0.0.1.1234 > 10.0.0.2.5678: UDP, length 4');
  });
});

describe('Cisco HDLC', () => {
  it('prints IPv4, with the address and ethertype under -e', () => {
    expect(decode(104, bytes(0x0f, 0, be16(0x0800), IP_UDP)).text).toBe(UDP_TEXT);
    expect(decode(104, bytes(0x0f, 0, be16(0x0800), IP_UDP), { linkHeader: true }).text).toBe('unicast, ethertype IPv4 (0x0800), length 36: 10.0.0.1.1234 > 10.0.0.2.5678: UDP, length 4');
  });
  it('prints SLARP keepalives with the link uptime', () => {
    // 7,925,000 ms = 2 h 12 min 5 s.
    const d = decode(104, bytes(0x8f, 0, be16(0x8035), be32(2), be32(5), be32(2), be16(0xffff), be32(7925000)));
    expect(d.text).toBe('SLARP (length: 18), keepalive: mineseen=0x00000005, yourseen=0x00000002, reliability=0xffff, link uptime=0d2h12m5s');
    expect(d.complete).toBe(true);
  });
  it('prints SLARP replies and unknown types', () => {
    expect(decode(104, bytes(0x8f, 0, be16(0x8035), be32(1), [15, 0, 0, 1], [255, 255, 255, 252], 0, 0)).text).toBe('SLARP (length: 14), reply 15.0.0.1/255.255.255.252');
    expect(decode(104, bytes(0x0f, 0, be16(0x1234), 0, 0)).text).toBe('unknown CHDLC protocol (0x1234)');
  });
});

describe('MPLS', () => {
  it('prints the label stack and the IPv4 packet under it', () => {
    const label = (100704 << 12) | (0 << 9) | 0x100 | 1;
    const frame = bytes(MAC_B, MAC_A, be16(0x8847), be32(label >>> 0), IP_UDP);
    expect(decode(1, frame).text).toBe(`MPLS (label 100704, tc 0, [S], ttl 1) ${UDP_TEXT}`);
  });
  it('prints every label of a stack', () => {
    const outer = (16 << 12) | (5 << 9) | 64;
    const inner = (17 << 12) | 0x100 | 63;
    expect(decode(9, bytes(0xff, 0x03, be16(0x281), be32(outer), be32(inner), IP_UDP)).text).toBe(`MPLS (label 16, tc 5, ttl 64) (label 17, tc 0, [S], ttl 63) ${UDP_TEXT}`);
  });
});

describe('802.3 LLC', () => {
  /** A 60-byte 802.3 frame: the length field bounds the LLC payload, the rest is padding. */
  const frame8023 = (llc: Uint8Array): Uint8Array => {
    const f = new Uint8Array(Math.max(60, 14 + llc.length));
    f.set(bytes([0x01, 0x80, 0xc2, 0, 0, 0], MAC_A, be16(llc.length), llc));
    return f;
  };
  const bpdu = (flags: number, messageAge: number) =>
    bytes(0x42, 0x42, 0x03, 0, 0, 0, 0, flags, [0x80, 0x00, 0, 0xaa, 0xbb, 0xcc, 0xdd, 0xee], be32(4), [0x80, 0x00, ...MAC_A], be16(0x8001), be16(messageAge), be16(20 * 256), be16(2 * 256), be16(15 * 256));
  it('prints an 802.1d configuration BPDU', () => {
    const d = decode(1, frame8023(bpdu(0x01, 256)));
    expect(d.text).toBe('STP 802.1d, Config, Flags [Topology change], bridge-id 8000.00:11:22:33:44:55.8001, length 35');
    expect(d.complete).toBe(true);
  });
  it('prints BPDU timers with -v, rounding exact halves to even as printf does', () => {
    // 32/256 s = 0.125 s: printf's %.2f gives 0.12.
    expect(decode(1, frame8023(bpdu(0x30, 32)), { verbose: 1 }).text).toBe(
      'STP 802.1d, Config, Flags [Learn, Forward], bridge-id 8000.00:11:22:33:44:55.8001, length 35\n\tmessage-age 0.12s, max-age 20.00s, hello-time 2.00s, forwarding-delay 15.00s\n\troot-id 8000.00:aa:bb:cc:dd:ee, root-pathcost 4',
    );
  });
  it('prints the LLC header with -e', () => {
    expect(decode(1, frame8023(bpdu(0, 256)), { linkHeader: true }).text).toBe(
      '00:11:22:33:44:55 > 01:80:c2:00:00:00, 802.3, length 38: LLC, dsap STP (0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: STP 802.1d, Config, Flags [none], bridge-id 8000.00:11:22:33:44:55.8001, length 35',
    );
  });
  it('hands SNAP with OUI 0 to the ethertype printers', () => {
    const d = decode(1, frame8023(bytes(0xaa, 0xaa, 0x03, 0, 0, 0, be16(0x0800), IP_UDP)));
    expect(d.text).toBe(UDP_TEXT);
    expect(d.layers.map((l) => l.protocol)).toEqual(['ether', 'llc', 'snap', 'ip', 'udp']);
    expect(decode(1, frame8023(bytes(0xaa, 0xaa, 0x03, 0, 0, 0, be16(0x0800), IP_UDP)), { linkHeader: true }).text).toBe(
      '00:11:22:33:44:55 > 01:80:c2:00:00:00, 802.3, length 40: LLC, dsap SNAP (0xaa) Individual, ssap SNAP (0xaa) Command, ctrl 0x03: oui Ethernet (0x000000), ethertype IPv4 (0x0800), length 32: 10.0.0.1.1234 > 10.0.0.2.5678: UDP, length 4',
    );
  });
  it('prints supervisory frames with the addresses and SAP names', () => {
    // Receiver Ready, N(R) 5, poll bit set: control 0x0b01 little-endian.
    expect(decode(1, frame8023(bytes(0x04, 0x04, 0x01, 0x0b))).text).toBe('00:11:22:33:44:55 > 01:80:c2:00:00:00 SNA Supervisory, Receiver Ready, rcv seq 5, Flags [Poll], length 4');
  });
  it('leaves unnumbered frames with payload to tcpdump (hex dump)', () => {
    expect(decode(1, frame8023(bytes(0x04, 0x04, 0x03, 1, 2, 3))).complete).toBe(false);
  });
});

describe('802.11 and radiotap', () => {
  const ARP_REQUEST = bytes(be16(1), be16(0x0800), 6, 4, be16(1), MAC_A, [10, 0, 0, 1], [0, 0, 0, 0, 0, 0], [10, 0, 0, 2]);
  const authFrame = (seq: number) => bytes(0xb0, 0, le16(0), MAC_B, MAC_A, MAC_C, le16(0), le16(0), le16(seq), le16(0));
  it('prints a data frame from the DS through LLC/SNAP', () => {
    // From-DS: address 1 = DA, 2 = BSSID, 3 = SA.
    const frame = bytes(0x08, 0x02, le16(0), MAC_B, MAC_C, MAC_A, le16(0), 0xaa, 0xaa, 0x03, 0, 0, 0, be16(0x0806), ARP_REQUEST);
    const d = decode(105, frame);
    expect(d.text).toBe('ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28');
    expect(d.complete).toBe(true);
  });
  it('prints authentication, deauthentication and acknowledgments', () => {
    expect(decode(105, authFrame(1)).text).toBe('Authentication (Open System)-1: Successful');
    expect(decode(105, authFrame(2)).text).toBe('Authentication (Open System)-2: ');
    expect(decode(105, bytes(0xc0, 0, le16(0), MAC_B, MAC_A, MAC_C, le16(0), le16(3))).text).toBe(
      'DeAuthentication (00:11:22:33:44:55): Deauthenticated because sending STA is leaving (or has left) IBSS or ESS',
    );
    expect(decode(105, bytes(0xd4, 0, le16(0), MAC_A)).text).toBe('Acknowledgment RA:00:11:22:33:44:55 ');
  });
  it('marks beacons (elements not decoded) as incomplete', () => {
    expect(decode(105, bytes(0x80, 0, le16(0), MAC_B, MAC_A, MAC_A, le16(0), new Uint8Array(12))).complete).toBe(false);
  });
  it('prints radiotap fields in bit order with their alignment, and drops the FCS', () => {
    // flags (FCS present), rate 2 Mb/s, channel 2412 MHz CCK/2 GHz, -40 dBm, antenna 1: 16 bytes.
    const present = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 11);
    const rt = bytes(0, 0, le16(16), [present & 0xff, present >> 8, 0, 0], 0x10, 4, le16(2412), le16(0x00a0), 0xd8, 1);
    const d = decode(127, bytes(rt, authFrame(1), [0xde, 0xad, 0xbe, 0xef]));
    expect(d.text).toBe('2.0 Mb/s 2412 MHz 11b -40dBm signal antenna 1 Authentication (Open System)-1: Successful');
    expect(d.complete).toBe(true);
    expect(d.layers[0]).toMatchObject({ protocol: 'radiotap', rate: 4, frequency: 2412, signal: -40 });
  });
  it('prints the 64-bit TSFT aligned to 8 bytes', () => {
    // TSFT (bit 0) then antenna (bit 11): header 8 + TSFT 8 + antenna 1.
    const tsft = [0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]; // 2^32 us
    const rt = bytes(0, 0, le16(17), [0x01, 0x08, 0, 0], tsft, 2);
    expect(decode(127, bytes(rt, authFrame(1))).text).toBe('4294967296us tsft antenna 2 Authentication (Open System)-1: Successful');
  });
  it('prints a truncation mark when the radiotap header is cut', () => {
    expect(decode(127, bytes(0, 0, le16(32), 0, 0, 0, 0), {}, 100).text).toBe(' [|802.11_radio]');
  });
});
