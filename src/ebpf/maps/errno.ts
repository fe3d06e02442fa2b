/** The errno values maps return, and `MapError`: a map operation that failed the way the kernel's would. */

import { BpfkitError } from '../../util/index.js';

/** errno numbers by name as Linux (asm-generic) defines them, plus the kernel-internal ENOTSUPP that bpf() leaks. */
export const MapErrno = {
  EPERM: 1, ENOENT: 2, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EFAULT: 14, EBUSY: 16, EEXIST: 17,
  EINVAL: 22, ENOSPC: 28, ERANGE: 34, EOPNOTSUPP: 95, ENOTSUPP: 524,
} as const;
/** An errno name {@link MapErrno} knows. */
export type MapErrnoName = keyof typeof MapErrno;

const DESCRIPTIONS: Record<MapErrnoName, string> = {
  EPERM: 'operation not permitted', ENOENT: 'no such element', E2BIG: 'too big or map full', EBADF: 'bad map or program handle',
  EAGAIN: 'try again', ENOMEM: 'out of memory', EFAULT: 'bad address', EBUSY: 'busy', EEXIST: 'element exists',
  EINVAL: 'invalid argument', ENOSPC: 'no space left', ERANGE: 'out of range', EOPNOTSUPP: 'operation not supported',
  ENOTSUPP: 'operation not supported',
};

/**
 * A map operation that failed: `errno`/`errnoName` are exactly what the kernel's bpf() returns for
 * the same call (so VM and kernel results can be compared), `code` is the errno name.
 */
export class MapError extends BpfkitError {
  readonly errno: number;
  readonly errnoName: MapErrnoName;

  constructor(errnoName: MapErrnoName, op: string, why?: string) {
    super(errnoName, `${op}: ${why ?? DESCRIPTIONS[errnoName]} (${errnoName})`);
    this.errno = MapErrno[errnoName];
    this.errnoName = errnoName;
  }
}

/** The helper-style return value for an errno: `-errno`. */
export function negErrno(name: MapErrnoName): number {
  return -MapErrno[name];
}

/** The errno name for a helper-style negative return value, or undefined for 0 / unknown values. */
export function errnoNameOf(ret: number): MapErrnoName | undefined {
  for (const [k, v] of Object.entries(MapErrno)) if (v === -ret) return k as MapErrnoName;
  return undefined;
}
