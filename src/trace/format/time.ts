/** Time formatting: C strftime (with bpftrace's `%f` microseconds) and the `time()` builtin. */

/**
 * Formats nanoseconds since the epoch with a C strftime format, in the time zone
 * `utcOffsetMinutes` east of UTC. bpftrace's `%f` prints the microseconds (6 digits).
 */
export function strftime(format: string, epochNs: bigint, utcOffsetMinutes = 0): string {
  void format; void epochNs; void utcOffsetMinutes;
  return '';
}
