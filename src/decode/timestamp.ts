/** Packet timestamps as tcpdump's -t/-tt/-ttt/-tttt/-ttttt print them (local time, like tcpdump). */

import type { TextBuffer } from './printer.js';

/** `default` = HH:MM:SS.frac; `none` = -t; `epoch` = -tt; `delta` = -ttt; `date` = -tttt; `sinceFirst` = -ttttt. */
export type TimestampFormat = 'default' | 'none' | 'epoch' | 'delta' | 'date' | 'sinceFirst';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Zero-padded three-digit groups, so a fraction is two lookups rather than a padStart. */
const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

function frac(nsec: number, nano: boolean): string {
  if (nsec < 0 || nsec >= 1e9 || !Number.isInteger(nsec)) return nano ? pad(nsec, 9) : pad(Math.floor(nsec / 1000), 6);
  const us = Math.floor(nsec / 1000);
  const text = DIGITS3[Math.floor(us / 1000)] + DIGITS3[us % 1000];
  return nano ? text + DIGITS3[nsec % 1000] : text;
}

/** The `HH:MM:SS.` or date prefix of the last second formatted: packets arrive many to a second. */
export class ClockCache {
  sec = NaN;
  format: TimestampFormat | '' = '';
  text = '';
}

function wallClock(format: 'default' | 'date', sec: number, cache: ClockCache | undefined): string {
  if (cache !== undefined && cache.sec === sec && cache.format === format) return cache.text;
  const d = new Date(sec * 1000);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.`;
  const text = format === 'date' ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}` : hms;
  if (cache !== undefined) {
    cache.sec = sec;
    cache.format = format;
    cache.text = text;
  }
  return text;
}

function hms(totalSec: number): string {
  return `${pad(Math.floor(totalSec / 3600))}:${pad(Math.floor(totalSec / 60) % 60)}:${pad(totalSec % 60)}`;
}

/**
 * Formats a timestamp; `prev`/`first` are the previous and first packets' times for the
 * delta forms. Returns the text including the trailing space tcpdump prints, or '' for `none`.
 */
export function formatTimestamp(
  format: TimestampFormat,
  sec: number,
  nsec: number,
  prev: { sec: number; nsec: number } | undefined,
  first: { sec: number; nsec: number } | undefined,
  nano = false,
  cache?: ClockCache,
): string {
  // tcpdump 4.99 cannot convert times before 1970 (a pcap's signed 32-bit seconds past 2038).
  if (sec < 0 && (format === 'default' || format === 'date')) return '[Error converting time] ';
  switch (format) {
    case 'none':
      return '';
    case 'epoch':
      return `${sec}.${frac(nsec, nano)} `;
    case 'delta':
    case 'sinceFirst': {
      const base = (format === 'delta' ? prev : first) ?? { sec, nsec };
      let ds = sec - base.sec;
      let dn = nsec - base.nsec;
      if (dn < 0) {
        ds--;
        dn += 1e9;
      }
      const neg = ds < 0;
      if (neg) {
        ds = -ds - (dn ? 1 : 0);
        dn = dn ? 1e9 - dn : 0;
      }
      return ` ${neg ? '-' : ''}${hms(ds)}.${frac(dn, nano)} `;
    }
    case 'date':
      return `${wallClock('date', sec, cache)}${frac(nsec, nano)} `;
    default:
      return `${wallClock('default', sec, cache)}${frac(nsec, nano)} `;
  }
}

/** Appends the digits of `value` (below 10^width) zero-padded to `width`. */
function writePadded(out: TextBuffer, value: number, width: number): void {
  for (let div = POW10[width - 1]; div >= 1; div = (div / 10) | 0) out.writeByte(48 + (((value / div) | 0) % 10));
}
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000];

/**
 * {@link formatTimestamp} appended to `out`; the per-packet forms (`default`, `date`) write
 * their digits without making strings.
 */
export function printTimestamp(
  out: TextBuffer,
  format: TimestampFormat,
  sec: number,
  nsec: number,
  prev: { sec: number; nsec: number } | undefined,
  first: { sec: number; nsec: number } | undefined,
  nano = false,
  cache?: ClockCache,
): void {
  if ((format === 'default' || format === 'date') && sec >= 0 && nsec >= 0 && nsec < 1e9 && Number.isInteger(nsec)) {
    out.write(wallClock(format, sec, cache));
    if (nano) writePadded(out, nsec, 9);
    else writePadded(out, Math.floor(nsec / 1000), 6);
    out.writeByte(32);
    return;
  }
  out.write(formatTimestamp(format, sec, nsec, prev, first, nano, cache));
}
