/** Test-local stand-in until src/pcap has a reader: packets of classic pcap and pcapng files, by link type number. */

export interface LitePacket {
  linktype: number;
  data: Uint8Array;
  wirelen: number;
}

/** Reads what it can of a pcap or pcapng file; stops quietly at damage (tests only need packets). */
export function readCapture(bytes: Uint8Array): LitePacket[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24) return [];
  const magic = dv.getUint32(0, false);
  const out: LitePacket[] = [];
  if (magic === 0x0a0d0d0a) {
    const idbs: number[] = [];
    let le = true;
    for (let off = 0; off + 12 <= bytes.length; ) {
      let type = dv.getUint32(off, le);
      if (type === 0x0a0d0d0a) {
        le = dv.getUint32(off + 8, true) === 0x1a2b3c4d;
        type = 0x0a0d0d0a;
      }
      const len = dv.getUint32(off + 4, le);
      if (len < 12 || off + len > bytes.length) break;
      if (type === 1) idbs.push(dv.getUint16(off + 8, le));
      else if (type === 6 && len >= 32) {
        const ifc = dv.getUint32(off + 8, le);
        const cap = dv.getUint32(off + 20, le);
        const orig = dv.getUint32(off + 24, le);
        if (off + 28 + cap <= off + len && idbs[ifc] !== undefined) out.push({ linktype: idbs[ifc], data: bytes.slice(off + 28, off + 28 + cap), wirelen: orig });
      } else if (type === 3 && len >= 16 && idbs[0] !== undefined) {
        const orig = dv.getUint32(off + 8, le);
        const cap = Math.min(orig, len - 16);
        out.push({ linktype: idbs[0], data: bytes.slice(off + 12, off + 12 + cap), wirelen: orig });
      }
      off += len;
    }
    return out;
  }
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = false;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = true;
  else return [];
  const linktype = dv.getUint32(20, le) & 0xffff;
  for (let off = 24; off + 16 <= bytes.length; ) {
    const cap = dv.getUint32(off + 8, le);
    const orig = dv.getUint32(off + 12, le);
    if (cap > 262144 || off + 16 + cap > bytes.length) break;
    out.push({ linktype, data: bytes.slice(off + 16, off + 16 + cap), wirelen: Math.max(orig, cap) });
    off += 16 + cap;
  }
  return out;
}
