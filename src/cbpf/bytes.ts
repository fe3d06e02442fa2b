/** The binary form of a classic BPF program: an array of 8-byte `struct sock_filter`, little-endian as on x86 and arm64. */

import { FormatError } from '../util/index.js';
import { insn, type Insn, type Program } from './insn.js';

/** Size of one `struct sock_filter` (u16 code, u8 jt, u8 jf, u32 k). */
export const SOCK_FILTER_SIZE = 8;

/** Encodes a program as consecutive `sock_filter` structs (what SO_ATTACH_FILTER and seccomp take). */
export function programToBytes(prog: Program, littleEndian = true): Uint8Array {
  const out = new Uint8Array(prog.length * SOCK_FILTER_SIZE);
  const dv = new DataView(out.buffer);
  prog.forEach((p, i) => {
    const o = i * SOCK_FILTER_SIZE;
    dv.setUint16(o, p.code, littleEndian);
    dv.setUint8(o + 2, p.jt);
    dv.setUint8(o + 3, p.jf);
    dv.setUint32(o + 4, p.k >>> 0, littleEndian);
  });
  return out;
}

/** Decodes `sock_filter` structs; a length that is not a multiple of 8 is a {@link FormatError} at that offset. */
export function programFromBytes(bytes: Uint8Array, littleEndian = true): Insn[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new FormatError('E_CBPF_BYTES', `program length ${bytes.length} is not a multiple of ${SOCK_FILTER_SIZE}`, {
      position: { offset: bytes.length - (bytes.length % SOCK_FILTER_SIZE) },
    });
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bytes.length; o += SOCK_FILTER_SIZE) {
    out.push(insn(dv.getUint16(o, littleEndian), dv.getUint32(o + 4, littleEndian), dv.getUint8(o + 2), dv.getUint8(o + 3)));
  }
  return out;
}
