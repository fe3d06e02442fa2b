/** Packet timestamps as tcpdump's -t/-tt/-ttt/-tttt/-ttttt print them (local time, like tcpdump). */

import type { TextBuffer } from './printer.js';

/** `default` = HH:MM:SS.frac; `none` = -t; `epoch` = -tt; `delta` = -ttt; `date` = -tttt; `sinceFirst` = -ttttt. */
export type TimestampFormat = 'default' | 'none' | 'epoch' | 'delta' | 'date' | 'sinceFirst';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Zero-padded three-digit groups, so a fraction is two lookups rather than a padStart. */
const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** The fraction in the units tcpdump prints (µs, or ns with `nano`), as it keeps it: truncated, with its sign. */
const units = (nsec: number, nano: boolean): number => (nano ? nsec : Math.trunc(nsec / 1000));

/**
 * A fraction in printed units, as tcpdump's `%06u`/`%09u` of `(unsigned)frac`: a capture's out-of-range fraction
 * (negative, or a second or more) prints as its 32-bit unsigned value, all digits.
 */
function fracDigits(u: number, nano: boolean): string {
  if (u >= 0 && u < (nano ? 1e9 : 1e6) && Number.isInteger(u)) {
    const us = nano ? Math.floor(u / 1000) : u;
    const text = DIGITS3[Math.floor(us / 1000)] + DIGITS3[us % 1000];
    return nano ? text + DIGITS3[u % 1000] : text;
  }
  const u32 = ((Math.trunc(u) % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return pad(u32, nano ? 9 : 6);
}

function frac(nsec: number, nano: boolean): string {
  return fracDigits(units(nsec, nano), nano);
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

/** HH:MM:SS of a span as tcpdump prints it, through gmtime: whole days drop out. */
function hms(totalSec: number): string {
  return `${pad(Math.floor(totalSec / 3600) % 24)}:${pad(Math.floor(totalSec / 60) % 60)}:${pad(totalSec % 60)}`;
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
  if (sec < 0 && (format === 'default' || format === 'date' || format === 'epoch')) return '[Error converting time] ';
  switch (format) {
    case 'none':
      return '';
    case 'epoch':
      // `%u` of (unsigned)tv_sec: a 64-bit pcapng time past 2106 wraps.
      return `${sec % 2 ** 32}.${frac(nsec, nano)} `;
    case 'delta':
    case 'sinceFirst': {
      // As tcpdump's netdissect_timevalsub: on the fractions as the capture holds them (not normalized), the
      // smaller time subtracted from the larger, a '-' in place of the leading space when the order is reversed.
      const base = (format === 'delta' ? prev : first) ?? { sec, nsec };
      const u = units(nsec, nano);
      const bu = units(base.nsec, nano);
      const neg = sec === base.sec ? u < bu : sec < base.sec;
      let ds = neg ? base.sec - sec : sec - base.sec;
      let du = neg ? bu - u : u - bu;
      if (du < 0) {
        ds--;
        du += nano ? 1e9 : 1e6;
      }
      return `${neg ? '-' : ' '}${hms(ds)}.${fracDigits(du, nano)} `;
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
