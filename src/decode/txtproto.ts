/** Text protocols tcpdump prints by their first line (txtproto_print): HTTP requests and responses. */

import type { Printer } from './printer.js';

/** Request methods tcpdump recognizes as HTTP (print-http.c). */
const HTTP_METHODS = new Set([
  'GET', 'PUT', 'COPY', 'HEAD', 'LOCK', 'MOVE', 'POLL', 'POST', 'BCOPY', 'BMOVE', 'MKCOL', 'TRACE', 'LABEL', 'MERGE', 'DELETE',
  'SEARCH', 'UNLOCK', 'REPORT', 'UPDATE', 'NOTIFY', 'BDELETE', 'CONNECT', 'OPTIONS', 'CHECKIN', 'PROPFIND', 'CHECKOUT', 'CCM_POST',
  'SUBSCRIBE', 'PROPPATCH', 'BPROPFIND', 'BPROPPATCH', 'UNCHECKOUT', 'MKACTIVITY', 'MKWORKSPACE', 'UNSUBSCRIBE', 'RPC_CONNECT',
  'VERSION-CONTROL', 'BASELINE-CONTROL',
]);
/** Longest token tcpdump compares (MAX_TOKEN). */
const MAX_TOKEN = 128;

const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** One printable token at `idx` and the index after the blanks behind it; undefined as tcpdump's fetch_token fails. */
function fetchToken(p: Printer, base: number, idx: number, len: number): { token: string; next: number } | undefined {
  const start = idx;
  for (; idx < len; idx++) {
    if (!p.has(base + idx, 1)) return undefined;
    const c = p.data[base + idx];
    if (c >= 0x80) return undefined;
    if (isSpace(c)) break;
    if (!isPrint(c) || idx - start + 2 > MAX_TOKEN + 1) return undefined;
  }
  if (idx === start) return undefined;
  // Printable ASCII, checked above: the bytes are the characters.
  const token = String.fromCharCode.apply(null, Array.from(p.data.subarray(base + start, base + idx)));
  for (; idx < len; idx++) {
    if (!p.has(base + idx, 1)) break;
    const c = p.data[base + idx];
    if (c === 0x0d || c === 0x0a || !isPrint(c) || !isSpace(c)) break;
  }
  return { token, next: idx };
}

/** Prints the line at `idx` after `prefix`; returns the next line's index, or 0 where tcpdump stops. */
function printLine(p: Printer, prefix: string, base: number, idx: number, len: number): number {
  const start = idx;
  let lineEnd: number;
  for (;;) {
    if (idx >= len) {
      // No line end within the payload: the line is printed with a truncation mark.
      p.print(prefix);
      p.out.writeAscii(p.data, base + start, idx - start);
      p.print(` [|${p.protocol}]`);
      return 0;
    }
    const c = p.u8(base + idx);
    if (c === 0x0a) {
      lineEnd = idx;
      idx++;
      break;
    }
    if (c === 0x0d) {
      if (idx + 1 >= len || p.u8(base + idx + 1) !== 0x0a) return 0;
      lineEnd = idx;
      idx += 2;
      break;
    }
    if (!isPrint(c) && c !== 0x09) return 0;
    idx++;
  }
  // Printable ASCII and tabs, checked above: written as they are.
  p.print(prefix);
  p.out.writeAscii(p.data, base + start, lineEnd - start);
  return idx;
}

/** Three decimal digits. */
function isStatusCode(t: string): boolean {
  if (t.length !== 3) return false;
  for (let i = 0; i < 3; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** HTTP over TCP: `HTTP: GET / HTTP/1.1`, or just `HTTP` when the payload is not a request or status line. */
export function printHttp(p: Printer, off: number, length: number): void {
  p.protocol = 'http';
  let printThis = false;
  const first = fetchToken(p, off, 0, length);
  if (first) {
    if (HTTP_METHODS.has(first.token.toUpperCase())) printThis = true;
    // A status line has the three-digit code as its second token.
    const second = fetchToken(p, off, first.next, length);
    if (second && isStatusCode(second.token)) printThis = true;
  }
  p.print('HTTP');
  if (p.json) p.layer('http', { recognized: printThis });
  if (!printThis) return;
  if (p.options.verbose) {
    p.print(`, length: ${length}`);
    for (let idx = 0; idx < length; ) {
      const eol = printLine(p, '\n\t', off, idx, length);
      if (eol === 0) break;
      idx = eol;
    }
  } else printLine(p, ': ', off, 0, length);
}
