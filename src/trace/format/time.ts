/** Time formatting: C strftime in the C locale, bpftrace's `%f`/`%k`/`%l` sub-second extensions, and the `time()` builtin. */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A broken-down time (`struct tm`) plus the zone offset it was computed with. */
interface Tm {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  weekday: number; yearDay: number; epochSeconds: bigint; offsetMinutes: number;
}

/** The local zone's offset east of UTC at a moment, from the JS runtime (browsers have it too). */
function localOffsetMinutes(epochMs: number): number {
  return -new Date(epochMs).getTimezoneOffset();
}

function breakDown(epochSeconds: bigint, offsetMinutes: number): Tm {
  const d = new Date((Number(epochSeconds) + offsetMinutes * 60) * 1000);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(), weekday: d.getUTCDay(), yearDay: Math.floor((d.getTime() - start) / 86400000),
    epochSeconds, offsetMinutes,
  };
}

function p2(n: number, fill = '0'): string {
  return n.toString().padStart(2, fill);
}

/** ISO 8601 week-based year and week number (`%G`, `%V`). */
function isoWeek(tm: Tm): [number, number] {
  const wday = (tm.weekday + 6) % 7; // Monday = 0
  let year = tm.year;
  let week = Math.floor((tm.yearDay - wday + 10) / 7);
  const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (week < 1) {
    year--;
    const prevDays = isLeap(year) ? 366 : 365;
    week = Math.floor((tm.yearDay + prevDays - wday + 10) / 7);
  } else if (week === 53) {
    const days = isLeap(year) ? 366 : 365;
    if (tm.yearDay - wday + 3 >= days) {
      week = 1;
      year++;
    }
  }
  return [year, week];
}

type Conv = (tm: Tm) => string;

/** C-locale conversions, by letter. */
const CONVERSIONS: Readonly<Record<string, Conv>> = {
  a: (t) => DAYS[t.weekday].slice(0, 3),
  A: (t) => DAYS[t.weekday],
  b: (t) => MONTHS[t.month].slice(0, 3),
  B: (t) => MONTHS[t.month],
  c: (t) => cStrftimeTm('%a %b %e %H:%M:%S %Y', t),
  C: (t) => p2(Math.floor(t.year / 100)),
  d: (t) => p2(t.day),
  D: (t) => cStrftimeTm('%m/%d/%y', t),
  e: (t) => p2(t.day, ' '),
  F: (t) => cStrftimeTm('%Y-%m-%d', t),
  g: (t) => p2(isoWeek(t)[0] % 100),
  G: (t) => isoWeek(t)[0].toString(),
  h: (t) => MONTHS[t.month].slice(0, 3),
  H: (t) => p2(t.hour),
  I: (t) => p2(t.hour % 12 === 0 ? 12 : t.hour % 12),
  j: (t) => (t.yearDay + 1).toString().padStart(3, '0'),
  k: (t) => p2(t.hour, ' '),
  l: (t) => p2(t.hour % 12 === 0 ? 12 : t.hour % 12, ' '),
  m: (t) => p2(t.month + 1),
  M: (t) => p2(t.minute),
  n: () => '\n',
  p: (t) => (t.hour < 12 ? 'AM' : 'PM'),
  P: (t) => (t.hour < 12 ? 'am' : 'pm'),
  r: (t) => cStrftimeTm('%I:%M:%S %p', t),
  R: (t) => cStrftimeTm('%H:%M', t),
  s: (t) => t.epochSeconds.toString(),
  S: (t) => p2(t.second),
  t: () => '\t',
  T: (t) => cStrftimeTm('%H:%M:%S', t),
  u: (t) => (t.weekday === 0 ? 7 : t.weekday).toString(),
  U: (t) => p2(Math.floor((t.yearDay + 7 - t.weekday) / 7)),
  V: (t) => p2(isoWeek(t)[1]),
  w: (t) => t.weekday.toString(),
  W: (t) => p2(Math.floor((t.yearDay + 7 - ((t.weekday + 6) % 7)) / 7)),
  x: (t) => cStrftimeTm('%m/%d/%y', t),
  X: (t) => cStrftimeTm('%H:%M:%S', t),
  y: (t) => p2(t.year % 100),
  Y: (t) => t.year.toString(),
  z: (t) => `${t.offsetMinutes < 0 ? '-' : '+'}${p2(Math.floor(Math.abs(t.offsetMinutes) / 60))}${p2(Math.abs(t.offsetMinutes) % 60)}`,
  Z: (t) => (t.offsetMinutes === 0 ? 'UTC' : CONVERSIONS.z(t)),
  '%': () => '%',
};

function cStrftimeTm(format: string, tm: Tm): string {
  // glibc flags (`-` no padding, `_` space, `0` zero, `^` upper case), E/O modifiers ignored.
  return format.replace(/%([-_0^#]?)(\d*)[EO]?([a-zA-Z%])/g, (whole, flag: string, width: string, letter: string) => {
    const conv = CONVERSIONS[letter];
    if (conv === undefined) return whole;
    let s = conv(tm);
    if (flag === '-') s = s.replace(/^[0 ]+(?=.)/, '');
    else if (flag === '_') s = s.replace(/^0+(?=.)/, (z) => ' '.repeat(z.length));
    else if (flag === '^') s = s.toUpperCase();
    if (width !== '') s = s.padStart(Number(width), flag === '_' || letter === 'e' || letter === 'k' || letter === 'l' ? ' ' : '0');
    return s;
  });
}

/**
 * C's strftime (glibc, C locale) of `epochSeconds` in the zone `utcOffsetMinutes` east of
 * UTC (default: the runtime's local zone, as localtime_r).
 */
export function cStrftime(format: string, epochSeconds: bigint, utcOffsetMinutes?: number): string {
  const offset = utcOffsetMinutes ?? localOffsetMinutes(Number(epochSeconds) * 1000);
  return cStrftimeTm(format, breakDown(epochSeconds, offset));
}

/**
 * bpftrace's `strftime(fmt, nsecs)` text for nanoseconds since the epoch: `%f` microseconds,
 * `%k` nanoseconds and `%l` milliseconds of the second are substituted first (bpftrace's
 * extensions, replacing C's `%k`/`%l`), then C strftime in local time (or `utcOffsetMinutes`).
 * The epoch itself and an empty result print `(?)`, as in bpftrace.
 */
export function strftime(format: string, epochNs: bigint, utcOffsetMinutes?: number): string {
  const seconds = epochNs >= 0n ? epochNs / 1_000_000_000n : (epochNs - 999_999_999n) / 1_000_000_000n;
  const ns = epochNs - seconds * 1_000_000_000n;
  if (seconds === 0n) return '(?)';
  const fmt = format
    .replaceAll('%f', (ns / 1000n).toString().padStart(6, '0'))
    .replaceAll('%k', ns.toString().padStart(9, '0'))
    .replaceAll('%l', (ns / 1_000_000n).toString().padStart(3, '0'));
  const text = cStrftime(fmt, seconds, utcOffsetMinutes);
  return text === '' ? '(?)' : text;
}

/** The `time(fmt)` builtin: C strftime of the current wall-clock second (default format `%H:%M:%S\n`). */
export function formatTime(format: string | undefined, nowEpochNs: bigint, utcOffsetMinutes?: number): string {
  return cStrftime(format ?? '%H:%M:%S\n', nowEpochNs / 1_000_000_000n, utcOffsetMinutes);
}
