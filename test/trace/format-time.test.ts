/** strftime against GNU date (glibc's strftime in the C locale) over many instants and every conversion; bpftrace's `%f`/`%k`/`%l` and `(?)` rules. */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cStrftime, formatTime, strftime } from '../../src/trace/format/index.js';
import { skipReason } from '../helpers/reference.js';

const why = skipReason('strftime vs GNU date', { commands: ['date'] });

const FORMAT = '%a %A %b %B %C %d %D %e %F %g %G %h %H %I %j %k %l %m %M %n %p %P %r %R %s %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %% %-d %-H %_m %^a %c';
// Instants around year, ISO-week and leap boundaries, noon and midnight.
const INSTANTS = [1n, 59n, 946684799n, 946684800n, 951782400n, 1009843200n, 1104451199n, 1230768000n, 1262304000n, 1293839999n, 1700000000n, 1735689599n, 1767225600n, 2000000000n, 4102444800n];

describe.skipIf(why !== undefined)('strftime vs GNU date -u', () => {
  it('every conversion at boundary instants', () => {
    for (const s of INSTANTS) {
      const ref = execFileSync('date', ['-u', '-d', `@${s}`, `+${FORMAT}`], { encoding: 'utf8', env: { TZ: 'UTC', LC_ALL: 'C', PATH: process.env.PATH } }).replace(/\n$/, '');
      expect(cStrftime(FORMAT, s, 0), `@${s}`).toBe(ref);
    }
  });
});

describe('bpftrace extensions', () => {
  it('%f microseconds, %k nanoseconds, %l milliseconds of the second', () => {
    expect(strftime('%s.%f|%k|%l', 1_000_123_456_789n, 0)).toBe('1000.123456|123456789|123');
    expect(strftime('%H:%M:%S.%f', 59_999_999_999n, 0)).toBe('00:00:59.999999');
  });

  it('(?) at the epoch second, as bpftrace', () => {
    expect(strftime('%s', 999_999_999n, 0)).toBe('(?)');
    expect(strftime('%s', 1_000_000_000n, 0)).toBe('1');
  });

  it('zone offsets east and west', () => {
    expect(cStrftime('%H:%M %z', 0n + 3600n, 90)).toBe('02:30 +0130');
    expect(cStrftime('%Y-%m-%d %H %z', 3600n, -300)).toBe('1969-12-31 20 -0500');
  });

  it('time() default format', () => {
    expect(formatTime(undefined, 1_700_000_000_000_000_000n, 0)).toBe('22:13:20\n');
  });
});
