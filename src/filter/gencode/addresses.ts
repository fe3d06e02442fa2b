/** Address text as libpcap's helpers read it: partial dotted quads (pcapint_atoin), MAC-48 spellings, UTF-8 bytes. */

/** libpcap's pcapint_atoin: a partial dotted quad; returns [value, bits] or undefined. */
export function atoin(text: string): [number, number] | undefined {
  let v = 0;
  let len = 0;
  for (const part of text.split('.')) {
    let n: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(part)) n = parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) n = parseInt(part, 8);
    else if (/^\d+$/.test(part)) n = parseInt(part, 10);
    else return undefined;
    if (n > 255) return undefined;
    v = ((v << 8) | n) >>> 0;
    len += 8;
  }
  if (len > 32) return undefined;
  return [v, len];
}

/** A MAC-48 address in any scanner spelling (`a:b:c:d:e:f`, `a-b-…`, `a.b.…`, `aabb.ccdd.eeff`, `aabbccddeeff`). */
export function parseMac(text: string): Uint8Array | undefined {
  const hex = text.replace(/[:.-]/g, '');
  let groups: string[];
  if (/[:.-]/.test(text) && text.split(/[:.-]/).length === 6) groups = text.split(/[:.-]/).map((g) => g.padStart(2, '0'));
  else if (/^[0-9A-Fa-f]{12}$/.test(hex)) groups = hex.match(/../g) ?? [];
  else return undefined;
  if (groups.length !== 6) return undefined;
  return Uint8Array.from(groups.map((g) => parseInt(g, 16)));
}


/** UTF-8 bytes of a string (core code has no TextEncoder type in its lib). */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const part of encodeURIComponent(text).split(/(%[0-9A-F]{2})/)) {
    if (part.startsWith('%')) out.push(parseInt(part.slice(1), 16));
    else for (const c of part) out.push(c.charCodeAt(0));
  }
  return Uint8Array.from(out);
}
