/** Packet timestamps as tcpdump's -t/-tt/-ttt/-tttt/-ttttt print them (local time, like tcpdump). */

/** `default` = HH:MM:SS.frac; `none` = -t; `epoch` = -tt; `delta` = -ttt; `date` = -tttt; `sinceFirst` = -ttttt. */
export type TimestampFormat = 'default' | 'none' | 'epoch' | 'delta' | 'date' | 'sinceFirst';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function frac(nsec: number, nano: boolean): string {
  return nano ? pad(nsec, 9) : pad(Math.floor(nsec / 1000), 6);
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
    case 'date': {
      const d = new Date(sec * 1000);
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac(nsec, nano)} `;
    }
    default: {
      const d = new Date(sec * 1000);
      return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac(nsec, nano)} `;
    }
  }
}
