/** IEEE 802.11 frames (DLT_IEEE802_11) and radiotap headers (DLT_IEEE802_11_RADIO), as tcpdump prints them without -e/-v. */

import { printLlc } from './llc.js';
import type { Printer } from './printer.js';

/** 802.11 status codes by number (tcpdump's status_text). */
const STATUS_TEXT: readonly string[] = [
  "Successful",
  "Unspecified failure",
  "TDLS wakeup schedule rejected but alternative schedule provided",
  "TDLS wakeup schedule rejected",
  "Reserved",
  "Security disabled",
  "Unacceptable lifetime",
  "Not in same BSS",
  "Reserved",
  "Reserved",
  "Cannot Support all requested capabilities in the Capability Information field",
  "Reassociation denied due to inability to confirm that association exists",
  "Association denied due to reason outside the scope of this standard",
  "Responding STA does not support the specified authentication algorithm",
  "Received an Authentication frame with authentication transaction sequence number out of expected sequence",
  "Authentication rejected because of challenge failure",
  "Authentication rejected due to timeout waiting for next frame in sequence",
  "Association denied because AP is unable to handle additional associated STAs",
  "Association denied due to requesting STA not supporting all of the data rates in the BSSBasicRateSet parameter, the Basic HT-MCS Set field of the HT Operation parameter, or the Basic VHT-MCS and NSS Set field in the VHT Operation parameter",
  "Association denied due to requesting STA not supporting the short preamble option",
  "Reserved",
  "Reserved",
  "Association request rejected because Spectrum Management capability is required",
  "Association request rejected because the information in the Power Capability element is unacceptable",
  "Association request rejected because the information in the Supported Channels element is unacceptable",
  "Association denied due to requesting STA not supporting the Short Slot Time option",
  "Reserved",
  "Association denied because the requested STA does not support HT features",
  "R0KH unreachable",
  "Association denied because the requesting STA does not support the phased coexistence operation (PCO) transition time required by the AP",
  "Association request rejected temporarily; try again later",
  "Robust management frame policy violation",
  "Unspecified, QoS-related failure",
  "Association denied because QoS AP or PCP has insufficient bandwidth to handle another QoS STA",
  "Association denied due to excessive frame loss rates and/or poor conditions on current operating channel",
  "Association (with QoS BSS) denied because the requesting STA does not support the QoS facility",
  "Reserved",
  "The request has been declined",
  "The request has not been successful as one or more parameters have invalid values",
  "The allocation or TS has not been created because the request cannot be honored; however, a suggested TSPEC/DMG TSPEC is provided so that the initiating STA can attempt to set another allocation or TS with the suggested changes to the TSPEC/DMG TSPEC",
  "Invalid element, i.e., an element defined in this standard for which the content does not meet the specifications in Clause 9",
  "Invalid group cipher",
  "Invalid pairwise cipher",
  "Invalid AKMP",
  "Unsupported RSNE version",
  "Invalid RSNE capabilities",
  "Cipher suite rejected because of security policy",
  "The TS or allocation has not been created; however, the HC or PCP might be capable of creating a TS or allocation, in response to a request, after the time indicated in the TS Delay element",
  "Direct Link is not allowed in the BSS by policy",
  "The Destination STA is not present within this BSS",
  "The Destination STA is not a QoS STA",
  "Association denied because the listen interval is too large",
  "Invalid FT Action frame count",
  "Invalid pairwise master key identifier (PMKID)",
  "Invalid MDE",
  "Invalid FTE",
  "Requested TCLAS processing is not supported by the AP or PCP",
  "The AP or PCP has insufficient TCLAS processing resources to satisfy the request",
  "The TS has not been created because the request cannot be honored; however, the HC or PCP suggests that the STA transition to a different BSS to set up the TS",
  "GAS Advertisement Protocol not supported",
  "No outstanding GAS request",
  "GAS Response not received from the Advertisement Server",
  "STA timed out waiting for GAS Query Response",
  "LARGE GAS Response is larger than query response length limit",
  "Request refused because home network does not support request",
  "Advertisement Server in the network is not currently reachable",
  "Reserved",
  "Request refused due to permissions received via SSPN interface",
  "Request refused because the AP or PCP does not support unauthenticated access",
  "Reserved",
  "Reserved",
  "Reserved",
  "Invalid contents of RSNE",
  "U-APSD coexistence is not supported",
  "Requested U-APSD coexistence mode is not supported",
  "Requested Interval/Duration value cannot be supported with U-APSD coexistence",
  "Authentication is rejected because an Anti-Clogging Token is required",
  "Authentication is rejected because the offered finite cyclic group is not supported",
  "The TBTT adjustment request has not been successful because the STA could not find an alternative TBTT",
  "Transmission failure",
  "Requested TCLAS Not Supported",
  "TCLAS Resources Exhausted",
  "Rejected with Suggested BSS transition",
  "Reject with recommended schedule",
  "Reject because no wakeup schedule specified",
  "Success, the destination STA is in power save mode",
  "FST pending, in process of admitting FST session",
  "Performing FST now",
  "FST pending, gap(s) in block ack window",
  "Reject because of U-PID setting",
  "Reserved",
  "Reserved",
  "(Re)Association refused for some external reason",
  "(Re)Association refused because of memory limits at the AP",
  "(Re)Association refused because emergency services are not supported at the AP",
  "GAS query response not yet received",
  "Reject since the request is for transition to a frequency band subject to DSE procedures and FST Initiator is a dependent STA",
  "Requested TCLAS processing has been terminated by the AP",
  "The TS schedule conflicts with an existing schedule; an alternative schedule is provided",
  "The association has been denied; however, one or more Multi-band elements are included that can be used by the receiving STA to join the BSS",
  "The request failed due to a reservation conflict",
  "The request failed due to exceeded MAF limit",
  "The request failed due to exceeded MCCA track limit",
  "Association denied because the information in theSpectrum Management field is unacceptable",
  "Association denied because the requesting STA does not support VHT features",
  "Enablement denied",
  "Enablement denied due to restriction from an authorized GDB",
  "Authorization deenabled",
];

/** 802.11 reason codes by number (tcpdump's reason_text). */
const REASON_TEXT: readonly string[] = [
  "Reserved",
  "Unspecified reason",
  "Previous authentication no longer valid",
  "Deauthenticated because sending STA is leaving (or has left) IBSS or ESS",
  "Disassociated due to inactivity",
  "Disassociated because AP is unable to handle all currently  associated STAs",
  "Class 2 frame received from nonauthenticated STA",
  "Class 3 frame received from nonassociated STA",
  "Disassociated because sending STA is leaving (or has left) BSS",
  "STA requesting (re)association is not authenticated with responding STA",
  "Disassociated because the information in the Power Capability element is unacceptable",
  "Disassociated because the information in the Supported Channels element is unacceptable",
  "Disassociated due to BSS transition management",
  "Invalid element, i.e., an element defined in this standard for which the content does not meet the specifications in Clause 9",
  "Message integrity code (MIC) failure",
  "4-Way Handshake timeout",
  "Group key handshake timeout",
  "Information element in 4-Way Handshake different from (Re)AssociationRequest/Probe Response/Beacon frame",
  "Invalid group cipher",
  "Invalid pairwise cipher",
  "Invalid AKMP",
  "Unsupported RSNE version",
  "Invalid RSNE capabilities",
  "IEEE 802.1X authentication failed",
  "Cipher suite rejected because of the security policy",
  "TDLS direct-link teardown due to TDLS peer STA unreachable via the TDLS direct link",
  "TDLS direct-link teardown for unspecified reason",
  "Disassociated because session terminated by SSP request",
  "Disassociated because of lack of SSP roaming agreement",
  "Requested service rejected because of SSP cipher suite or AKM requirement",
  "Requested service not authorized in this location",
  "TS deleted because QoS AP lacks sufficient bandwidth for this QoS STA due to a change in BSS service characteristics or operational mode (e.g. an HT BSS change from 40 MHz channel to 20 MHz channel)",
  "Disassociated for unspecified, QoS-related reason",
  "Disassociated because QoS AP lacks sufficient bandwidth for this QoS STA",
  "Disassociated because of excessive number of frames that need to be acknowledged, but are not acknowledged due to AP transmissions and/or poor channel conditions",
  "Disassociated because STA is transmitting outside the limits of its TXOPs",
  "Requested from peer STA as the STA is leaving the BSS (or resetting)",
  "Requested from peer STA as it does not want to use the mechanism",
  "Requested from peer STA as the STA received frames using the mechanism for which a set up is required",
  "Requested from peer STA due to time out",
  "Reserved",
  "Reserved",
  "Reserved",
  "Reserved",
  "Reserved",
  "Peer STA does not support the requested cipher suite",
  "In a DLS Teardown frame: The teardown was initiated by the DLS peer. In a Disassociation frame: Disassociated because authorized access limit reached",
  "In a DLS Teardown frame: The teardown was initiated by the AP. In a Disassociation frame: Disassociated due to external service requirements",
  "Invalid FT Action frame count",
  "Invalid pairwise master key identifier (PMKID)",
  "Invalid MDE",
  "Invalid FTE",
  "Mesh peering canceled for unknown reasons",
  "The mesh STA has reached the supported maximum number of peer mesh STAs",
  "The received information violates the Mesh Configuration policy configured in the mesh STA profile",
  "The mesh STA has received a Mesh Peering Close frame requesting to close the mesh peering",
  "The mesh STA has resent dot11MeshMaxRetries Mesh Peering Open frames, without receiving a Mesh Peering Confirm frame",
  "The confirmTimer for the mesh peering instance times out",
  "The mesh STA fails to unwrap the GTK or the values in the wrapped contents do not match",
  "The mesh STA receives inconsistent information about the mesh parameters between mesh peering Management frames",
  "The mesh STA fails the authenticated mesh peering exchange because due to failure in selecting either the pairwise ciphersuite or group ciphersuite",
  "The mesh STA does not have proxy information for this external destination",
  "The mesh STA does not have forwarding information for this destination",
  "The mesh STA determines that the link to the next hop of an active path in its forwarding information is no longer usable",
  "The Deauthentication frame was sent because the MAC address of the STA already exists in the mesh BSS",
  "The mesh STA performs channel switch to meet regulatory requirements",
  "The mesh STA performs channel switching with unspecified reason",
];

const AUTH_ALGS = ['Open System', 'Shared Key', 'EAP'];

/** Management subtypes tcpdump names (st_str). */
const MGMT_NAMES: Record<number, string> = {
  0: 'Assoc Request', 1: 'Assoc Response', 2: 'ReAssoc Request', 3: 'ReAssoc Response', 4: 'Probe Request', 5: 'Probe Response',
  8: 'Beacon', 9: 'ATIM', 10: 'Disassociation', 11: 'Authentication', 12: 'DeAuthentication', 13: 'Action',
};

/** Control subtypes: name and header length (ctrl_str, extract_header_length). */
const CTRL_FRAMES: Record<number, readonly [string, number]> = {
  7: ['Control Wrapper', 8], 8: ['BAR', 20], 9: ['BA', 16], 10: ['Power Save-Poll', 16], 11: ['Request-To-Send', 16],
  12: ['Clear-To-Send', 10], 13: ['Acknowledgment', 10], 14: ['CF-End', 16], 15: ['CF-End+CF-Ack', 16],
};

/** Radiotap fields 0..14 as [alignment, size]; later fields (MCS, VHT...) are not decoded here. */
const RADIOTAP_FIELDS: readonly (readonly [number, number])[] = [
  [8, 8], [1, 1], [1, 1], [2, 4], [1, 2], [1, 1], [1, 1], [2, 2], [2, 2], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [2, 2],
];

/** Decodes an 802.11 frame at `off`; `fcsLength` bytes of FCS end the frame, `pad` rounds the header to 4 bytes. */
export function printIeee80211(p: Printer, off: number, length: number, pad = false, fcsLength = 0): void {
  p.protocol = '802.11';
  if (length < fcsLength) {
    p.print(' [|802.11]');
    return;
  }
  length -= fcsLength;
  // The FCS is not part of the frame the body printers see.
  if (p.end - off > length) p.end = off + length;
  if (p.end - off < 2) {
    p.print(' [|802.11]');
    return;
  }
  const fc = p.u16le(off);
  const type = (fc >> 2) & 3;
  const subtype = (fc >> 4) & 0xf;
  const toDs = (fc & 0x100) !== 0;
  const fromDs = (fc & 0x200) !== 0;
  const isProtected = (fc & 0x4000) !== 0;
  let hdrlen: number;
  if (type === 0) hdrlen = 24;
  else if (type === 1) {
    const ctrl = CTRL_FRAMES[subtype];
    if (!ctrl) {
      p.print(`unknown 802.11 ctrl frame subtype (${subtype})`);
      return;
    }
    hdrlen = ctrl[1];
  } else if (type === 2) hdrlen = (toDs && fromDs ? 30 : 24) + (subtype & 8 ? 2 : 0);
  else {
    p.print(`unknown 802.11 frame type (${type})`);
    return;
  }
  if (pad) hdrlen = (hdrlen + 3) & ~3;
  if (p.end - off < hdrlen) {
    p.print(' [|802.11]');
    return;
  }
  p.layer('802.11', { type, subtype, toDs, fromDs });
  if (p.options.linkHeader) {
    // -e -v adds the duration and frame-control flags: not printed here.
    if (p.options.verbose) p.complete = false;
    printMacHeader(p, fc, type, subtype, off);
  }
  p.linkHeaderLength = off + hdrlen;
  const body = off + hdrlen;
  const bodyLength = length - hdrlen;
  if (type === 0) printMgmt(p, subtype, off, body, bodyLength, isProtected);
  else if (type === 1) printCtrl(p, subtype, off);
  else {
    // Null-function data frames carry nothing; tcpdump prints no text for them.
    if (subtype & 4) return;
    if (isProtected) {
      p.complete = false; // WEP/WPA: tcpdump prints the IV fields
      return;
    }
    const a = (n: number): string => p.mac(off + [4, 10, 16, 24][n]);
    const src = !toDs ? (!fromDs ? a(1) : a(2)) : !fromDs ? a(1) : a(3);
    const dst = !toDs ? a(0) : a(2);
    printLlc(p, body, bodyLength, { src, dst });
  }
}

function printMgmt(p: Printer, subtype: number, hdr: number, body: number, length: number, isProtected: boolean): void {
  p.print(MGMT_NAMES[subtype] ?? `Unhandled Management subtype(${subtype.toString(16)})`);
  if (isProtected) {
    p.complete = false;
    return;
  }
  const trunc = (): void => p.print(' [|802.11]');
  switch (subtype) {
    case 9: // ATIM: no body
      return;
    case 10: // Disassociation
    case 12: {
      // DeAuthentication
      if (!p.has(body, 2) || length < 2) return trunc();
      const reason = p.u16le(body);
      const text = REASON_TEXT[reason] ?? 'Reserved';
      if (subtype === 10 || p.options.linkHeader) p.print(`: ${text}`);
      else p.print(` (${p.mac(hdr + 10)}): ${text}`);
      return;
    }
    case 11: {
      // Authentication
      if (!p.has(body, 6) || length < 6) return trunc();
      if (length > 6) {
        // Elements (challenge text) follow; tcpdump parses them.
        p.complete = false;
        return;
      }
      const alg = p.u16le(body);
      const seq = p.u16le(body + 2);
      const status = p.u16le(body + 4);
      const algName = AUTH_ALGS[alg] ?? 'Reserved';
      const statusText = seq % 2 ? (STATUS_TEXT[status] ?? 'n/a') : '';
      if (alg === 1 && (seq === 2 || seq === 3)) p.print(` (${algName})-${seq.toString(16)} [Challenge Text] ${statusText}`);
      else p.print(` (${algName})-${seq.toString(16)}: ${statusText}`);
      return;
    }
    default:
      // Beacons, probes and associations list their elements (SSID, rates, channel): not decoded here.
      if (MGMT_NAMES[subtype] !== undefined) p.complete = false;
  }
}

function printCtrl(p: Printer, subtype: number, hdr: number): void {
  const [name, hdrlen] = CTRL_FRAMES[subtype];
  p.print(name);
  if (!p.has(hdr, hdrlen)) {
    p.print(' [|802.11]');
    return;
  }
  // With -e the MAC header already named the addresses.
  if (p.options.linkHeader) {
    if (subtype === 10) p.print(` AID(${p.u16le(hdr + 2).toString(16)})`);
    else if (subtype === 8) p.complete = false;
    return;
  }
  if (subtype === 11) p.print(` TA:${p.mac(hdr + 10)} `);
  else if (subtype === 12 || subtype === 13 || subtype === 14 || subtype === 15 || subtype === 9) p.print(` RA:${p.mac(hdr + 4)} `);
  else if (subtype === 10) p.print(` AID(${p.u16le(hdr + 2).toString(16)})`);
  else p.complete = false; // BAR prints its control fields; the wrapper is not decoded by tcpdump either
}

/** The `-e` MAC header line: addresses by role (mgmt/ctrl/data_header_print). */
function printMacHeader(p: Printer, fc: number, type: number, subtype: number, off: number): void {
  const a = (n: number): string => p.mac(off + [4, 10, 16, 24][n]);
  if (type === 0) {
    p.print(`BSSID:${a(2)} DA:${a(0)} SA:${a(1)} `);
    return;
  }
  if (type === 1) {
    const ra = `RA:${a(0)} `;
    const byCtrl: Record<number, () => string> = {
      9: () => ra, 10: () => `BSSID:${a(0)} TA:${a(1)} `, 11: () => `RA:${a(0)} TA:${a(1)} `, 12: () => ra, 13: () => ra,
      14: () => `RA:${a(0)} BSSID:${a(1)} `, 15: () => `RA:${a(0)} BSSID:${a(1)} `,
    };
    const f = byCtrl[subtype];
    if (f) p.print(f());
    else p.complete = false; // BAR prints its control and sequence fields
    return;
  }
  if (subtype & 1 || subtype & 2 || subtype & 8) {
    p.print(`CF ${subtype & 1 ? (subtype & 2 ? 'Ack/Poll' : 'Ack') : subtype & 2 ? 'Poll' : ''}${subtype & 8 ? '+QoS' : ''} `);
  }
  const toDs = (fc & 0x100) !== 0;
  const fromDs = (fc & 0x200) !== 0;
  if (!toDs && !fromDs) p.print(`DA:${a(0)} SA:${a(1)} BSSID:${a(2)} `);
  else if (!toDs) p.print(`DA:${a(0)} BSSID:${a(1)} SA:${a(2)} `);
  else if (!fromDs) p.print(`BSSID:${a(0)} SA:${a(1)} DA:${a(2)} `);
  else p.print(`RA:${a(0)} TA:${a(1)} DA:${a(2)} SA:${a(3)} `);
}

/** DLT_IEEE802_11: a bare 802.11 frame. */
export function printIeee80211Link(p: Printer, length: number): void {
  printIeee80211(p, 0, length);
}

/** DLT_IEEE802_11_RADIO: a radiotap header, then the 802.11 frame. */
export function printRadiotap(p: Printer, length: number): void {
  p.protocol = '802.11_radio';
  if (p.end < 8) {
    p.print(' [|802.11_radio]');
    return;
  }
  const len = p.u16le(2);
  if (len < 8 || p.end < len) {
    p.print(' [|802.11_radio]');
    return;
  }
  const present = p.u32le(4);
  // Extended bitmaps, namespaces and fields past RX flags (MCS, VHT, vendor data) are not decoded here.
  if (present & ~0x7fff) {
    p.complete = false;
    return;
  }
  let pos = 8;
  let flags = 0;
  const fields: Record<string, number> = {};
  for (let bit = 0; bit < RADIOTAP_FIELDS.length; bit++) {
    if (!(present & (1 << bit))) continue;
    const [align, size] = RADIOTAP_FIELDS[bit];
    pos = Math.ceil(pos / align) * align;
    if (pos + size > len) {
      // A field past the header: tcpdump stops printing fields and marks the truncation.
      p.print(' [|802.11_radio]');
      p.complete = false;
      return;
    }
    printRadiotapField(p, bit, pos, fields);
    if (bit === 1) flags = p.u8(pos);
    pos += size;
  }
  p.layer('radiotap', fields);
  printIeee80211(p, len, length - len, (flags & 0x20) !== 0, flags & 0x10 ? 4 : 0);
  p.linkHeaderLength = Math.max(p.linkHeaderLength, len);
}

function printRadiotapField(p: Printer, bit: number, pos: number, fields: Record<string, number>): void {
  const s8 = (o: number): number => (p.u8(o) << 24) >> 24;
  switch (bit) {
    case 0: {
      const tsft = BigInt(p.u32le(pos)) | (BigInt(p.u32le(pos + 4)) << 32n);
      p.print(`${tsft}us tsft `);
      return;
    }
    case 1: {
      const f = p.u8(pos);
      fields.flags = f;
      const names: [number, string][] = [[0x01, 'cfp '], [0x02, 'short preamble '], [0x04, 'wep '], [0x08, 'fragmented '], [0x40, 'bad-fcs ']];
      for (const [b, n] of names) if (f & b) p.print(n);
      return;
    }
    case 2: {
      const rate = p.u8(pos);
      fields.rate = rate;
      p.print(rate >= 0x80 && rate <= 0x8f ? `MCS ${rate & 0x7f} ` : `${(rate / 2).toFixed(1)} Mb/s `);
      return;
    }
    case 3: {
      const freq = p.u16le(pos);
      fields.frequency = freq;
      printChannel(p, freq, p.u16le(pos + 2));
      return;
    }
    case 4:
      p.print(`fhset ${p.u8(pos)} fhpat ${p.u8(pos + 1)} `);
      return;
    case 5:
      fields.signal = s8(pos);
      p.print(`${s8(pos)}dBm signal `);
      return;
    case 6:
      p.print(`${s8(pos)}dBm noise `);
      return;
    case 7:
      p.print(`${p.u16le(pos)} sq `);
      return;
    case 8:
      p.print(`${-((p.u16le(pos) << 16) >> 16)} tx power `);
      return;
    case 9:
      p.print(`${-s8(pos)}dB tx attenuation `);
      return;
    case 10:
      p.print(`${s8(pos)}dBm tx power `);
      return;
    case 11:
      p.print(`antenna ${p.u8(pos)} `);
      return;
    case 12:
      p.print(`${p.u8(pos)}dB signal `);
      return;
    case 13:
      p.print(`${p.u8(pos)}dB noise `);
      return;
    default:
      return; // RX flags print nothing
  }
}

/** `2412 MHz 11g `: frequency and PHY from the channel flags (print_chaninfo; MCS/XCHANNEL never reach here). */
function printChannel(p: Printer, freq: number, flags: number): void {
  p.print(`${freq} MHz`);
  const has = (mask: number): boolean => (flags & mask) === mask;
  const rate = flags & 0x4000 ? '/10Mhz' : flags & 0x8000 ? '/5Mhz' : '';
  if (has(CHAN_2GHZ | CHAN_GFSK)) p.print(' FHSS');
  if (has(CHAN_5GHZ | CHAN_OFDM)) p.print(` 11a${rate}`);
  if (has(CHAN_2GHZ | CHAN_OFDM) || has(CHAN_2GHZ | CHAN_DYN)) p.print(` 11g${rate}`);
  else if (has(CHAN_2GHZ | CHAN_CCK)) p.print(' 11b');
  if (flags & CHAN_TURBO) p.print(' Turbo');
  p.print(' ');
}

const CHAN_TURBO = 0x10;
const CHAN_CCK = 0x20;
const CHAN_OFDM = 0x40;
const CHAN_2GHZ = 0x80;
const CHAN_5GHZ = 0x100;
const CHAN_DYN = 0x400;
const CHAN_GFSK = 0x800;
