/** libpcap's fix-ups of link-layer pseudo-headers on read: host-byte-order fields of files from hosts of the other byte order, and Linux USB lengths. */

import type { Packet } from './packet.js';

/*
 * Some pseudo-headers (pflog, SocketCAN ids behind Linux cooked headers, Linux USB, NFLOG TLV
 * headers) hold fields in the byte order of the host that captured them. libpcap converts
 * them to the reading host's order; we model a little-endian reader (x86, arm64), so fields
 * of a big-endian file are byte-swapped, exactly where and as far as libpcap swaps them.
 */

const DLT_PFLOG = 117;
const DLT_LINUX_SLL = 113;
const DLT_LINUX_SLL2 = 276;
const DLT_USB_LINUX = 189;
const DLT_USB_LINUX_MMAPPED = 220;
const DLT_NFLOG = 239;

/** Link types whose packets libpcap may change after reading. */
export function needsPostProcess(linkType: number, swapped: boolean): boolean {
  if (linkType === DLT_USB_LINUX_MMAPPED) return true;
  return swapped && SWAPPERS.has(linkType);
}

function swap(d: Uint8Array, at: number, size: number): void {
  for (let i = 0, j = size - 1; i < j; i++, j--) {
    const t = d[at + i];
    d[at + i] = d[at + j];
    d[at + j] = t;
  }
}

function le32(d: Uint8Array, at: number): number {
  return (d[at] | (d[at + 1] << 8) | (d[at + 2] << 16) | (d[at + 3] << 24)) >>> 0;
}

function swapPflog(d: Uint8Array, caplen: number, len: number): void {
  // uid, pid, rule_uid, rule_pid follow two 16-byte names and two rule numbers.
  for (const end of [48, 52, 56, 60]) {
    if (caplen < end || len < end) return;
    if (d[0] < end) return;
    swap(d, end - 4, 4);
  }
}

/** The SocketCAN id after a cooked header is in host order (protocols 0x000C CAN, 0x000D CAN FD). */
function swapCanAfter(d: Uint8Array, caplen: number, len: number, header: number, protocolAt: number): void {
  if (caplen < header || len < header) return;
  const protocol = (d[protocolAt] << 8) | d[protocolAt + 1];
  if (protocol !== 0x000c && protocol !== 0x000d) return;
  if (caplen < header + 4 || len < header + 4) return;
  swap(d, header, 4);
}

function swapUsb(d: Uint8Array, caplen: number, mmapped: boolean): void {
  // [end offset of the field, its size], in header order, each swapped only if captured.
  const fields: [number, number][] = [
    [8, 8], // id
    [14, 2], // bus_id
    [24, 8], // ts_sec
    [28, 4], // ts_usec
    [32, 4], // status
    [36, 4], // urb_len
    [40, 4], // data_len
  ];
  for (const [end, size] of fields) {
    if (caplen < end) return;
    swap(d, end - size, size);
  }
  const isochronous = d[9] === 0;
  if (isochronous) {
    for (const end of [44, 48]) {
      if (caplen < end) return;
      swap(d, end - 4, 4);
    }
  }
  if (!mmapped) return;
  for (const end of [52, 56, 60, 64]) {
    if (caplen < end) return;
    swap(d, end - 4, 4);
  }
  if (!isochronous) return;
  const ndesc = le32(d, 60);
  let offset = 64;
  for (let i = 0; i < ndesc; i++) {
    for (let f = 0; f < 3; f++) {
      offset += 4;
      if (caplen < offset) return;
      swap(d, offset - 4, 4);
    }
    offset += 4; // padding
  }
}

function swapNflog(d: Uint8Array, caplen: number, len: number): void {
  if (caplen < 4 || len < 4) return;
  if (d[1] !== 0) return; // unknown NFLOG version
  let length = len - 4;
  let cap = caplen - 4;
  let p = 4;
  while (cap >= 4) {
    swap(d, p, 2); // tlv_length
    swap(d, p + 2, 2); // tlv_type
    let size = d[p] | (d[p + 1] << 8);
    // libpcap pads in 16-bit arithmetic, so a length near 65535 wraps to a tiny size.
    if (size % 4 !== 0) size = (size + 4 - (size % 4)) & 0xffff;
    if (size < 4) return;
    if (cap < size || length < size) return;
    length -= size;
    cap -= size;
    p += size;
  }
}

const SWAPPERS: ReadonlyMap<number, (d: Uint8Array, caplen: number, len: number) => void> = new Map([
  [DLT_PFLOG, swapPflog],
  [DLT_LINUX_SLL, (d: Uint8Array, c: number, l: number) => swapCanAfter(d, c, l, 16, 14)],
  [DLT_LINUX_SLL2, (d: Uint8Array, c: number, l: number) => swapCanAfter(d, c, l, 20, 0)],
  [DLT_USB_LINUX, (d: Uint8Array, c: number) => swapUsb(d, c, false)],
  [DLT_USB_LINUX_MMAPPED, (d: Uint8Array, c: number) => swapUsb(d, c, true)],
  [DLT_NFLOG, swapNflog],
]);

/**
 * Memory-mapped Linux USB captures of isochronous IN completions recorded a length that
 * omits the data; libpcap recomputes it from the descriptors (`fix_linux_usb_mmapped_length`).
 */
function fixUsbMmappedLength(p: Packet): void {
  const d = p.data;
  const caplen = d.length;
  if (caplen < 64 || d[15] !== 0) return;
  const ndesc = le32(d, 60);
  const urbLen = le32(d, 32);
  if (p.origLen !== 64 + ndesc * 16 + urbLen) return;
  if (d[9] !== 0 || d[8] !== 0x43 || !(d[10] & 0x80)) return;
  let bytesLeft = caplen - 64;
  let dataLen = 0;
  for (let i = 0; i < ndesc && bytesLeft >= 16; i++, bytesLeft -= 16) {
    const at = 64 + i * 16;
    const len = le32(d, at + 8);
    if (len !== 0) {
      const end = (le32(d, at + 4) + len) >>> 0;
      if (end > dataLen) dataLen = end;
    }
  }
  // u_int arithmetic in libpcap.
  const preTruncationLen = Number(BigInt.asUintN(32, 64n + BigInt(ndesc) * 16n + BigInt(dataLen)));
  if (preTruncationLen >= caplen) p.origLen = preTruncationLen;
  if (caplen > p.origLen) p.origLen = caplen;
}

/**
 * Applies libpcap's `pcap_post_process` to a packet just read. The data is copied before any
 * byte is changed, so the file's bytes are never modified.
 */
export function postProcess(p: Packet, swapped: boolean): void {
  if (swapped) {
    const swapper = SWAPPERS.get(p.linkType);
    if (swapper) {
      p.data = p.data.slice();
      swapper(p.data, p.data.length, p.origLen);
    }
  }
  if (p.linkType === DLT_USB_LINUX_MMAPPED) fixUsbMmappedLength(p);
}
