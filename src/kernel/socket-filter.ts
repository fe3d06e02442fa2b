/** Socket filters: attach classic BPF (SO_ATTACH_FILTER) or an eBPF program (SO_ATTACH_BPF) to a socket fd, and detach. */

import { BpfkitError } from '../util/index.js';
import { sockFilterBytes, sockFprog } from './attr.js';
import type { SockFilterInsn } from './attr.js';
import type { Sys } from './sys.js';

/** Socket option constants (asm-generic, x86-64 and arm64 agree). */
export const SOL_SOCKET = 1;
export const SO_ATTACH_FILTER = 26;
export const SO_DETACH_FILTER = 27;
export const SO_LOCK_FILTER = 44;
export const SO_ATTACH_BPF = 50;

function wrap(e: unknown, context: string): unknown {
  return e instanceof BpfkitError ? e.withContext(context) : e;
}

/**
 * Attaches a classic BPF program (a cbpf `Program`, or any `{code, jt, jf, k}` list) to a
 * socket. The kernel validates it; an invalid program is EINVAL.
 */
export function attachClassicFilter(sys: Sys, fd: number, prog: readonly SockFilterInsn[]): void {
  const filter = sockFilterBytes(prog);
  const fprog = sockFprog(prog.length, sys.addressOf(filter));
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, fprog);
  } catch (e) {
    throw wrap(e, 'attach classic filter');
  }
}

/** Attaches a loaded eBPF socket-filter program (by fd) to a socket. */
export function attachBpfFilter(sys: Sys, fd: number, progFd: number): void {
  const v = new Uint8Array(new ArrayBuffer(4));
  new DataView(v.buffer).setInt32(0, progFd, true);
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, v);
  } catch (e) {
    throw wrap(e, 'attach bpf filter');
  }
}

/** Removes whatever filter a socket has (ENOENT when it has none). */
export function detachFilter(sys: Sys, fd: number): void {
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, new Uint8Array(new ArrayBuffer(4)));
  } catch (e) {
    throw wrap(e, 'detach filter');
  }
}

/** Locks the socket's filter so that it can be neither replaced nor removed. */
export function lockFilter(sys: Sys, fd: number): void {
  const v = new Uint8Array(new ArrayBuffer(4));
  v[0] = 1;
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, v);
  } catch (e) {
    throw wrap(e, 'lock filter');
  }
}
