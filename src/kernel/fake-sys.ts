/** An in-memory `Sys` that imitates bpf() maps and programs, so loaders and maps are unit-tested without root. */

import { BpfCmd, readU32 } from './attr.js';
import { Errno, SyscallError } from './sys.js';
import type { EpollEvent, PollEvents, PollWatcher, Sys } from './sys.js';

/** A map the fake holds. */
interface FakeMap {
  kind: 'map';
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
  /** Keys as hex, in insertion order (what GET_NEXT_KEY walks for hashes). */
  entries: Map<string, Uint8Array>;
}

/** A program the fake "loaded". */
export interface FakeProgram {
  kind: 'prog';
  type: number;
  insns: Uint8Array;
  license: string;
  name: string;
  expectedAttachType: number;
}

type FakeObject = FakeMap | FakeProgram;

/** How a fake decides what a program does. */
export interface FakeSysOptions {
  arch?: 'x64' | 'arm64';
  /** Returns a verifier log to reject the program, undefined to accept it. */
  verify?: (prog: FakeProgram) => string | undefined;
  /** The r0 and output data of a test run; default r0 = 0 and the data unchanged. */
  run?: (prog: FakeProgram, data: Uint8Array) => { retval: number; data?: Uint8Array };
  /** Map types the fake refuses (as an old kernel would), with EINVAL. */
  unsupportedMapTypes?: number[];
  /** Program types the fake refuses with EINVAL. */
  unsupportedProgTypes?: number[];
}

const HASH_LIKE = new Set([1, 5, 9, 10]);
const ARRAY_LIKE = new Set([2, 6]);

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string): Uint8Array => new Uint8Array((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));

/**
 * The fake seam. Pointers are handed out by `addressOf` as (buffer number << 32) + offset,
 * so `bpf()` can read and write the caller's buffers the way the kernel would.
 */
export class FakeSys implements Sys {
  readonly arch: 'x64' | 'arm64';
  /** Every bpf() command issued, in order (for tests that check what was asked). */
  readonly calls: { cmd: number; result: number | string }[] = [];
  /** Paths pinned with OBJ_PIN. */
  readonly pins = new Map<string, FakeObject>();
  private readonly options: FakeSysOptions;
  private readonly objects = new Map<number, FakeObject>();
  private readonly buffers = new Map<bigint, Uint8Array>();
  private readonly bufferIds = new WeakMap<Uint8Array, bigint>();
  private nextBuffer = 1n;
  private nextFd = 3;

  constructor(options: FakeSysOptions = {}) {
    this.options = options;
    this.arch = options.arch ?? 'x64';
  }

  /** Fds that are open (for leak checks). */
  openFds(): number[] {
    return [...this.objects.keys()];
  }

  /** The object behind an fd, for assertions. */
  object(fd: number): FakeObject | undefined {
    return this.objects.get(fd);
  }

  addressOf(buf: Uint8Array): bigint {
    let id = this.bufferIds.get(buf);
    if (id === undefined) {
      id = this.nextBuffer++;
      this.bufferIds.set(buf, id);
      this.buffers.set(id, buf);
    }
    return id << 32n;
  }

  /** The bytes at a fake pointer; EFAULT as the kernel would for a bad one. */
  private mem(ptr: bigint, length: number): Uint8Array {
    const buf = this.buffers.get(ptr >> 32n);
    const off = Number(ptr & 0xffffffffn);
    if (!buf || off + length > buf.length) throw new SyscallError('bpf', Errno.EFAULT);
    return buf.subarray(off, off + length);
  }

  private cString(ptr: bigint): string {
    const buf = this.buffers.get(ptr >> 32n);
    if (!buf) throw new SyscallError('bpf', Errno.EFAULT);
    const start = Number(ptr & 0xffffffffn);
    const end = buf.indexOf(0, start);
    return new TextDecoder().decode(buf.subarray(start, end < 0 ? buf.length : end));
  }

  private u64(attr: Uint8Array, off: number): bigint {
    return new DataView(attr.buffer, attr.byteOffset).getBigUint64(off, true);
  }

  private map(fd: number): FakeMap {
    const o = this.objects.get(fd);
    if (!o) throw new SyscallError('bpf', Errno.EBADF);
    if (o.kind !== 'map') throw new SyscallError('bpf', Errno.EINVAL);
    return o;
  }

  private newFd(o: FakeObject): number {
    const fd = this.nextFd++;
    this.objects.set(fd, o);
    return fd;
  }

  bpf(cmd: number, attr: Uint8Array): number {
    try {
      const r = this.bpfInner(cmd, attr);
      this.calls.push({ cmd, result: r });
      return r;
    } catch (e) {
      this.calls.push({ cmd, result: e instanceof SyscallError ? e.errnoName : String(e) });
      throw e;
    }
  }

  private bpfInner(cmd: number, attr: Uint8Array): number {
    const C = BpfCmd;
    switch (cmd) {
      case C.BPF_MAP_CREATE: {
        const type = readU32(attr, 0);
        const [keySize, valueSize, maxEntries, flags] = [readU32(attr, 4), readU32(attr, 8), readU32(attr, 12), readU32(attr, 16)];
        if (this.options.unsupportedMapTypes?.includes(type)) throw new SyscallError('bpf', Errno.EINVAL);
        if (!HASH_LIKE.has(type) && !ARRAY_LIKE.has(type)) throw new SyscallError('bpf', Errno.EINVAL);
        if (valueSize === 0 || maxEntries === 0 || keySize === 0 || (ARRAY_LIKE.has(type) && keySize !== 4)) {
          throw new SyscallError('bpf', Errno.EINVAL);
        }
        const nameBytes = attr.subarray(28, 44);
        const nul = nameBytes.indexOf(0);
        const name = new TextDecoder().decode(nameBytes.subarray(0, nul < 0 ? 16 : nul));
        const m: FakeMap = { kind: 'map', type, keySize, valueSize, maxEntries, flags, name, entries: new Map() };
        if (ARRAY_LIKE.has(type)) {
          for (let i = 0; i < maxEntries; i++) {
            const k = new Uint8Array(4);
            new DataView(k.buffer).setUint32(0, i, true);
            m.entries.set(hex(k), new Uint8Array(valueSize));
          }
        }
        return this.newFd(m);
      }
      case C.BPF_MAP_LOOKUP_ELEM: {
        const m = this.map(readU32(attr, 0));
        const key = this.mem(this.u64(attr, 8), m.keySize);
        const v = m.entries.get(hex(key));
        if (!v) throw new SyscallError('bpf', Errno.ENOENT);
        this.mem(this.u64(attr, 16), m.valueSize).set(v);
        return 0;
      }
      case C.BPF_MAP_UPDATE_ELEM: {
        const m = this.map(readU32(attr, 0));
        const key = hex(this.mem(this.u64(attr, 8), m.keySize));
        const value = this.mem(this.u64(attr, 16), m.valueSize).slice();
        const flags = Number(this.u64(attr, 24));
        const exists = m.entries.has(key);
        if (flags > 2) throw new SyscallError('bpf', Errno.EINVAL);
        if (ARRAY_LIKE.has(m.type)) {
          if (!exists) throw new SyscallError('bpf', Errno.E2BIG);
          if (flags === 1) throw new SyscallError('bpf', Errno.EEXIST);
        } else {
          if (flags === 1 && exists) throw new SyscallError('bpf', Errno.EEXIST);
          if (flags === 2 && !exists) throw new SyscallError('bpf', Errno.ENOENT);
          if (!exists && m.entries.size >= m.maxEntries) throw new SyscallError('bpf', Errno.E2BIG);
        }
        m.entries.set(key, value);
        return 0;
      }
      case C.BPF_MAP_DELETE_ELEM: {
        const m = this.map(readU32(attr, 0));
        if (ARRAY_LIKE.has(m.type)) throw new SyscallError('bpf', Errno.EINVAL);
        const key = hex(this.mem(this.u64(attr, 8), m.keySize));
        if (!m.entries.delete(key)) throw new SyscallError('bpf', Errno.ENOENT);
        return 0;
      }
      case C.BPF_MAP_GET_NEXT_KEY: {
        const m = this.map(readU32(attr, 0));
        const keyPtr = this.u64(attr, 8);
        const keys = [...m.entries.keys()];
        let i = 0;
        if (keyPtr !== 0n) {
          const at = keys.indexOf(hex(this.mem(keyPtr, m.keySize)));
          // A missing key restarts from the first, as the kernel's hash map does.
          i = at < 0 ? 0 : at + 1;
        }
        if (i >= keys.length) throw new SyscallError('bpf', Errno.ENOENT);
        this.mem(this.u64(attr, 16), m.keySize).set(unhex(keys[i]));
        return 0;
      }
      case C.BPF_PROG_LOAD: {
        const type = readU32(attr, 0);
        if (this.options.unsupportedProgTypes?.includes(type)) throw new SyscallError('bpf', Errno.EINVAL);
        const cnt = readU32(attr, 4);
        const insns = this.mem(this.u64(attr, 8), cnt * 8).slice();
        const license = this.cString(this.u64(attr, 16));
        const nameBytes = attr.subarray(48, 64);
        const nul = nameBytes.indexOf(0);
        const prog: FakeProgram = {
          kind: 'prog', type, insns, license, expectedAttachType: readU32(attr, 68),
          name: new TextDecoder().decode(nameBytes.subarray(0, nul < 0 ? 16 : nul)),
        };
        // Pseudo map fd lddw (src 1) must name an open map, as in the kernel.
        for (let s = 0; s < cnt; s++) {
          if (insns[s * 8] === 0x18 && insns[s * 8 + 1] >> 4 === 1) {
            const fd = new DataView(insns.buffer).getInt32(s * 8 + 4, true);
            if (this.objects.get(fd)?.kind !== 'map') throw new SyscallError('bpf', Errno.EBADF);
          }
          if (insns[s * 8] === 0x18) s++;
        }
        const log = this.options.verify?.(prog);
        if (log !== undefined) {
          const level = readU32(attr, 24);
          const size = readU32(attr, 28);
          if (level > 0 && size > 0) {
            const out = this.mem(this.u64(attr, 32), size);
            const enc = new TextEncoder().encode(log);
            if (enc.length >= size) {
              out.set(enc.subarray(0, size - 1));
              out[size - 1] = 0;
              throw new SyscallError('bpf', Errno.ENOSPC);
            }
            out.set(enc);
            out[enc.length] = 0;
          }
          throw new SyscallError('bpf', Errno.EACCES);
        }
        return this.newFd(prog);
      }
      case C.BPF_PROG_TEST_RUN: {
        const o = this.objects.get(readU32(attr, 0));
        if (!o) throw new SyscallError('bpf', Errno.EBADF);
        if (o.kind !== 'prog') throw new SyscallError('bpf', Errno.EINVAL);
        const sizeIn = readU32(attr, 8);
        const data = sizeIn ? this.mem(this.u64(attr, 16), sizeIn).slice() : new Uint8Array(0);
        const r = this.options.run?.(o, data) ?? { retval: 0 };
        const out = r.data ?? data;
        const dv = new DataView(attr.buffer, attr.byteOffset);
        const outPtr = this.u64(attr, 24);
        if (outPtr !== 0n) {
          const cap = readU32(attr, 12);
          this.mem(outPtr, Math.min(cap, out.length)).set(out.subarray(0, cap));
          dv.setUint32(12, out.length, true);
          if (out.length > cap) throw new SyscallError('bpf', Errno.ENOSPC);
        }
        dv.setUint32(4, r.retval >>> 0, true);
        dv.setUint32(36, 1, true);
        return 0;
      }
      case C.BPF_OBJ_PIN: {
        const o = this.objects.get(readU32(attr, 8));
        if (!o) throw new SyscallError('bpf', Errno.EBADF);
        const path = this.cString(this.u64(attr, 0));
        if (this.pins.has(path)) throw new SyscallError('bpf', Errno.EEXIST);
        this.pins.set(path, o);
        return 0;
      }
      case C.BPF_OBJ_GET: {
        const o = this.pins.get(this.cString(this.u64(attr, 0)));
        if (!o) throw new SyscallError('bpf', Errno.ENOENT);
        return this.newFd(o);
      }
      case C.BPF_OBJ_GET_INFO_BY_FD: {
        const o = this.objects.get(readU32(attr, 0));
        if (!o) throw new SyscallError('bpf', Errno.EBADF);
        const info = this.mem(this.u64(attr, 8), readU32(attr, 4));
        const dv = new DataView(info.buffer, info.byteOffset, info.byteLength);
        if (o.kind === 'map') {
          dv.setUint32(0, o.type, true);
          dv.setUint32(8, o.keySize, true);
          dv.setUint32(12, o.valueSize, true);
          dv.setUint32(16, o.maxEntries, true);
          dv.setUint32(20, o.flags, true);
          info.set(new TextEncoder().encode(o.name), 24);
        } else {
          dv.setUint32(0, o.type, true);
          dv.setUint32(20, o.insns.length, true);
        }
        return 0;
      }
      default:
        throw new SyscallError('bpf', Errno.EINVAL);
    }
  }

  bpfAsync(cmd: number, attr: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      queueMicrotask(() => {
        try {
          resolve(this.bpf(cmd, attr));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  close(fd: number): void {
    if (!this.objects.delete(fd)) throw new SyscallError('close', Errno.EBADF);
  }

  private unsupported(name: string): never {
    throw new SyscallError(name, Errno.ENOSYS, { hint: 'the fake seam does not imitate this call' });
  }

  ioctl(): number { return this.unsupported('ioctl'); }
  ioctlInt(): number { return this.unsupported('ioctl'); }
  mmap(): bigint { return this.unsupported('mmap'); }
  munmap(): void { this.unsupported('munmap'); }
  view(): ArrayBuffer { return this.unsupported('mmap'); }
  perfEventOpen(): number { return this.unsupported('perf_event_open'); }
  socket(): number { return this.unsupported('socket'); }
  setsockopt(): void { this.unsupported('setsockopt'); }
  getsockopt(): Uint8Array { return this.unsupported('getsockopt'); }
  bind(): void { this.unsupported('bind'); }
  recv(): number { return this.unsupported('recv'); }
  recvfrom(): { length: number; addrLength: number } { return this.unsupported('recvfrom'); }
  sendto(): number { return this.unsupported('sendto'); }
  prctl(): number { return this.unsupported('prctl'); }
  seccomp(): number { return this.unsupported('seccomp'); }
  fcntl(): number { return this.unsupported('fcntl'); }
  poll(_fd: number, _events: Partial<PollEvents>, _cb: (e: PollEvents) => void): PollWatcher { return this.unsupported('poll'); }
  epollCreate(): number { return this.unsupported('epoll_create1'); }
  epollCtl(): void { this.unsupported('epoll_ctl'); }
  epollWait(): EpollEvent[] { return this.unsupported('epoll_wait'); }
  ifNameToIndex(name: string): number {
    if (name === 'lo') return 1;
    throw new SyscallError('if_nametoindex', Errno.ENODEV);
  }
  gettid(): number { return 1; }
}
