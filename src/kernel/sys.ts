/** The one seam to the OS: the `Sys` interface over bpf() and friends, and its koffi implementation (loaded lazily). */

import { BpfkitError, UnsupportedError } from '../util/index.js';
import { MapError } from '../ebpf/index.js';

/** Events a poll watcher reports. */
export interface PollEvents {
  readable: boolean;
  writable: boolean;
  disconnect: boolean;
}

/** A running poll watcher on an fd (a libuv uv_poll underneath). */
export interface PollWatcher {
  /** Stops watching and frees the watcher; the fd stays open. */
  close(): void;
  /** Lets the process exit while the watcher is active. */
  unref(): void;
}

/** One ready fd from `epollWait`. */
export interface EpollEvent {
  events: number;
  data: bigint;
}

/**
 * Every kernel interaction bpfkit makes. Each call throws {@link SyscallError} on failure.
 * Pointers inside hand-built structs (`bpf_attr`, `sock_fprog`) come from `addressOf`,
 * so a fake can map them back to buffers; the caller keeps those buffers referenced
 * until the call returns.
 */
export interface Sys {
  /** Which machine the numbers (syscalls, audit arch, struct layouts) are for. */
  readonly arch: 'x64' | 'arm64';
  /** The address of a buffer's first byte, for pointer fields in structs. */
  addressOf(buf: Uint8Array): bigint;
  /** bpf(cmd, attr, attr.length); returns the non-negative result. */
  bpf(cmd: number, attr: Uint8Array): number;
  /** bpf() on a worker thread, for calls that can run long (PROG_TEST_RUN with a big repeat). */
  bpfAsync(cmd: number, attr: Uint8Array): Promise<number>;
  close(fd: number): void;
  /** ioctl with a pointer argument (or none). */
  ioctl(fd: number, request: number, arg?: Uint8Array): number;
  /** ioctl with an integer argument. */
  ioctlInt(fd: number, request: number, arg: number): number;
  mmap(length: number, prot: number, flags: number, fd: number, offset: number): bigint;
  munmap(addr: bigint, length: number): void;
  /** A zero-copy view of mapped memory; never use it after `munmap`. */
  view(addr: bigint, length: number): ArrayBuffer;
  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): number;
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void;
  /** Reads up to `length` bytes of an option; returns the bytes the kernel wrote. */
  getsockopt(fd: number, level: number, name: number, length: number): Uint8Array;
  bind(fd: number, addr: Uint8Array): void;
  /** Returns the number of bytes received (the full packet length with MSG_TRUNC). */
  recv(fd: number, buf: Uint8Array, flags: number): number;
  recvfrom(fd: number, buf: Uint8Array, flags: number, addr: Uint8Array): { length: number; addrLength: number };
  sendto(fd: number, buf: Uint8Array, flags: number, addr?: Uint8Array): number;
  prctl(option: number, arg2: number, arg3?: number, arg4?: number, arg5?: number): number;
  /** seccomp(operation, flags, args); `args` is the `sock_fprog` for SET_MODE_FILTER. */
  seccomp(operation: number, flags: number, args: Uint8Array | undefined): number;
  fcntl(fd: number, cmd: number, arg?: number): number;
  /** Watches an fd from the event loop; the fd should be non-blocking. */
  poll(fd: number, events: Partial<PollEvents>, callback: (events: PollEvents) => void): PollWatcher;
  epollCreate(): number;
  epollCtl(epfd: number, op: number, fd: number, events: number, data: bigint): void;
  epollWait(epfd: number, maxEvents: number, timeoutMs: number): EpollEvent[];
  ifNameToIndex(name: string): number;
  /** The caller's thread id (differs from the pid on worker threads). */
  gettid(): number;
}

/** errno values by name, as on Linux (asm-generic), plus the kernel-internal ENOTSUPP that bpf() leaks. */
export const Errno = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19, ENOTDIR: 20,
  EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30,
  EPIPE: 32, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENOMSG: 42,
  ENODATA: 61, ETIME: 62, EOVERFLOW: 75, EBADFD: 77, ENOTSOCK: 88, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100,
  ENOBUFS: 105, ETIMEDOUT: 110, ECANCELED: 125, ENOTSUPP: 524,
} as const;
export type ErrnoName = keyof typeof Errno;

const errnoNames = new Map<number, string>(Object.entries(Errno).map(([k, v]) => [v, k]));

/** Hints for errnos whose usual cause we know. */
const errnoHints: Partial<Record<ErrnoName, string>> = {
  EPERM: 'needs root or CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN',
  EACCES: 'needs root or CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN (or the verifier refused the program)',
  ENOSYS: 'this kernel lacks the system call',
  EMFILE: 'too many open files: close maps and programs you no longer need',
  ENOTSUPP: 'this kernel does not support the operation',
  EOPNOTSUPP: 'this kernel does not support the operation',
};

/** A system call that failed: `errno` by name and number, the syscall, and a hint when we know one. */
export class SyscallError extends BpfkitError {
  readonly errno: number;
  readonly errnoName: string;
  readonly syscall: string;

  constructor(syscall: string, errno: number, options: { hint?: string; cause?: unknown } = {}) {
    const name = errnoNames.get(errno) ?? `errno ${errno}`;
    super('E_SYSCALL', `${syscall}: ${name.toLowerCase()}${describeErrno(errno)}`, {
      hint: options.hint ?? errnoHints[name as ErrnoName],
      cause: options.cause,
    });
    this.errno = errno;
    this.errnoName = name;
    this.syscall = syscall;
  }
}

const errnoText: Partial<Record<ErrnoName, string>> = {
  EPERM: 'operation not permitted', ENOENT: 'no such file or directory', EINVAL: 'invalid argument',
  EEXIST: 'file exists', E2BIG: 'argument list too long', EACCES: 'permission denied', EBADF: 'bad file descriptor',
  ENOMEM: 'cannot allocate memory', EAGAIN: 'resource temporarily unavailable', ENOSPC: 'no space left on device',
  EFAULT: 'bad address', EBUSY: 'device or resource busy', ENODEV: 'no such device', ENOSYS: 'function not implemented',
  EOPNOTSUPP: 'operation not supported', ENOTSUPP: 'operation not supported', ENOTTY: 'inappropriate ioctl for device',
};

function describeErrno(errno: number): string {
  const name = errnoNames.get(errno) as ErrnoName | undefined;
  const text = name && errnoText[name];
  return text ? ` (${text})` : '';
}

/** True when `e` is a {@link SyscallError} with the given errno name. */
export function isErrno(e: unknown, name: ErrnoName): boolean {
  // A map operation's failure is a MapError (the VM's error); it carries the same errno.
  return (e instanceof SyscallError || e instanceof MapError) && e.errno === Errno[name];
}

// Syscalls that glibc has no wrapper for (or whose wrapper we avoid), by architecture.
const syscallNumbers = {
  x64: { bpf: 321, perf_event_open: 298, seccomp: 317, gettid: 186 },
  arm64: { bpf: 280, perf_event_open: 241, seccomp: 277, gettid: 178 },
} as const;

// koffi is typed loosely; these are the few shapes we use.
interface NativeFn {
  (...args: unknown[]): number | bigint;
  async: (...args: unknown[]) => void;
}
interface KoffiLike {
  load(path: string): { func(def: string): NativeFn };
  address(value: unknown): bigint;
  view(ptr: unknown, len: number): ArrayBuffer;
  errno(): number;
  node: { poll(fd: number, opts: Partial<PollEvents>, cb: (ev: PollEvents) => void): { close(): void; unref(): void } };
}

let sysPromise: Promise<Sys> | undefined;

/**
 * The real OS seam, created once. koffi is imported here and only here, so code that
 * never opens the kernel backend never loads it.
 */
export function loadSys(): Promise<Sys> {
  sysPromise ??= createKoffiSys();
  return sysPromise;
}

async function createKoffiSys(): Promise<Sys> {
  const proc = (globalThis as { process?: { platform?: string; arch?: string } }).process;
  if (proc?.platform !== 'linux') {
    throw new UnsupportedError('E_UNSUPPORTED', `the kernel backend needs linux, not ${proc?.platform ?? 'a browser'}`);
  }
  const arch = proc.arch === 'arm64' ? 'arm64' : proc.arch === 'x64' ? 'x64' : undefined;
  if (!arch) throw new UnsupportedError('E_UNSUPPORTED', `the kernel backend supports x64 and arm64, not ${proc.arch}`);
  const { existsSync } = await import('node:fs');
  let koffi = loadKoffiNative(existsSync);
  if (!koffi) {
    try {
      const mod = (await import('koffi')) as unknown as { default?: KoffiLike } & KoffiLike;
      koffi = mod.default ?? mod;
    } catch (cause) {
      throw new UnsupportedError('E_UNSUPPORTED', 'cannot load koffi (the FFI the kernel backend uses)', { cause });
    }
  }
  return new KoffiSys(koffi, arch);
}

/**
 * koffi's native module, opened directly: koffi's JavaScript entry (which looks for the binary,
 * reads node's ELF header to tell glibc from musl, and adds deprecated aliases) costs ~12 ms of
 * CPU at start-up, the module itself ~1 ms, and the functions used here are the module's own.
 * Undefined when anything differs from koffi 3's npm layout (then koffi's entry loads it).
 */
function loadKoffiNative(existsSync: (path: string) => boolean): KoffiLike | undefined {
  const proc = (globalThis as { process?: { platform: string; arch: string; dlopen?: (m: { exports: unknown }, file: string) => void } }).process;
  if (!proc?.dlopen) return undefined;
  // The glibc build of koffi's per-platform package, installed beside koffi (npm's layout).
  const native = `@koromix/koffi-${proc.platform}-${proc.arch}/${proc.platform}_${proc.arch}/koffi.node`;
  try {
    const file = findBesideKoffi(existsSync, native) ?? resolveBesideKoffi(native);
    if (file === undefined) return undefined;
    const mod: { exports: Partial<KoffiLike> } = { exports: {} };
    proc.dlopen(mod, file);
    const k = mod.exports;
    const complete = typeof k.load === 'function' && typeof k.address === 'function' && typeof k.view === 'function' && typeof k.errno === 'function' && typeof k.node?.poll === 'function';
    return complete ? (k as KoffiLike) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `native` in the node_modules directory that holds koffi, looked for upwards from this file as
 * Node looks for packages: a few stat calls, where resolving `koffi` reads and matches its
 * package.json's exports (~1-4 ms of a launch). Undefined when no node_modules on the way has koffi.
 */
function findBesideKoffi(existsSync: (path: string) => boolean, native: string): string | undefined {
  if (!import.meta.url.startsWith('file:')) return undefined;
  let dir = decodeURIComponent(new URL('.', import.meta.url).pathname);
  for (;;) {
    if (existsSync(`${dir}node_modules/koffi/package.json`)) {
      const file = `${dir}node_modules/${native}`;
      return existsSync(file) ? file : undefined;
    }
    if (dir === '/') return undefined;
    dir = dir.replace(/[^/]+\/$/, '');
  }
}

/** `native` beside koffi as Node resolves the package (NODE_PATH, global folders): the slow path. */
function resolveBesideKoffi(native: string): string | undefined {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (!resolve) return undefined;
  const entry = resolve('koffi');
  return entry.startsWith('file:') ? decodeURIComponent(new URL(`../${native}`, entry).pathname) : undefined;
}

/** The real implementation: libc through koffi. */
class KoffiSys implements Sys {
  readonly arch: 'x64' | 'arm64';
  private readonly k: KoffiLike;
  private readonly nr: Record<'bpf' | 'perf_event_open' | 'seccomp' | 'gettid', number>;
  private readonly f: Record<string, NativeFn>;

  constructor(k: KoffiLike, arch: 'x64' | 'arm64') {
    this.k = k;
    this.arch = arch;
    this.nr = syscallNumbers[arch];
    const libc = k.load('libc.so.6');
    // Fixed prototypes (not variadic) so that `.async` is available and arguments are passed as declared.
    this.f = {
      syscallPtr: libc.func('long syscall(long nr, long a1, void *a2, long a3, long a4, long a5, long a6)'),
      syscallLong: libc.func('long syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6)'),
      close: libc.func('int close(int fd)'),
      ioctl: libc.func('int ioctl(int fd, unsigned long req, ...)'),
      mmap: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
      munmap: libc.func('int munmap(void *addr, size_t len)'),
      socket: libc.func('int socket(int domain, int type, int protocol)'),
      setsockopt: libc.func('int setsockopt(int fd, int level, int name, void *val, uint32_t len)'),
      getsockopt: libc.func('int getsockopt(int fd, int level, int name, void *val, _Inout_ uint32_t *len)'),
      bind: libc.func('int bind(int fd, void *addr, uint32_t len)'),
      recv: libc.func('long recv(int fd, void *buf, size_t len, int flags)'),
      recvfrom: libc.func('long recvfrom(int fd, void *buf, size_t len, int flags, void *addr, _Inout_ uint32_t *alen)'),
      sendto: libc.func('long sendto(int fd, void *buf, size_t len, int flags, void *addr, uint32_t alen)'),
      prctl: libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
      fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
      epoll_create1: libc.func('int epoll_create1(int flags)'),
      epoll_ctl: libc.func('int epoll_ctl(int epfd, int op, int fd, void *ev)'),
      epoll_wait: libc.func('int epoll_wait(int epfd, void *evs, int max, int timeout)'),
      if_nametoindex: libc.func('unsigned int if_nametoindex(const char *name)'),
    };
  }

  private check(name: string, r: number | bigint): number {
    const n = Number(r);
    if (n < 0) throw new SyscallError(name, this.k.errno());
    return n;
  }

  addressOf(buf: Uint8Array): bigint {
    return this.k.address(buf);
  }

  bpf(cmd: number, attr: Uint8Array): number {
    return this.check('bpf', this.f.syscallPtr(this.nr.bpf, cmd, attr, attr.length, 0, 0, 0));
  }

  bpfAsync(cmd: number, attr: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      // errno is per worker thread in koffi's async pool, and koffi.errno() reads it correctly in the callback.
      this.f.syscallPtr.async(this.nr.bpf, cmd, attr, attr.length, 0, 0, 0, (err: unknown, r: number | bigint) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        try {
          resolve(this.check('bpf', r));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  close(fd: number): void {
    this.check('close', this.f.close(fd));
  }

  ioctl(fd: number, request: number, arg?: Uint8Array): number {
    return this.check('ioctl', this.f.ioctl(fd, request, 'void *', arg ?? null));
  }

  ioctlInt(fd: number, request: number, arg: number): number {
    return this.check('ioctl', this.f.ioctl(fd, request, 'long', arg));
  }

  mmap(length: number, prot: number, flags: number, fd: number, offset: number): bigint {
    const p = this.f.mmap(null, length, prot, flags, fd, offset) as unknown;
    const addr = typeof p === 'bigint' ? p : this.k.address(p);
    if (addr === 0xffffffffffffffffn || addr === -1n) throw new SyscallError('mmap', this.k.errno());
    return addr;
  }

  munmap(addr: bigint, length: number): void {
    this.check('munmap', this.f.munmap(addr, length));
  }

  view(addr: bigint, length: number): ArrayBuffer {
    return this.k.view(addr, length);
  }

  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number): number {
    return this.check('perf_event_open', this.f.syscallLong(this.nr.perf_event_open, this.addressOf(attr), pid, cpu, groupFd, flags, 0));
  }

  socket(domain: number, type: number, protocol: number): number {
    return this.check('socket', this.f.socket(domain, type, protocol));
  }

  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void {
    this.check('setsockopt', this.f.setsockopt(fd, level, name, value, value.length));
  }

  getsockopt(fd: number, level: number, name: number, length: number): Uint8Array {
    const buf = new Uint8Array(new ArrayBuffer(length));
    const len = [length];
    this.check('getsockopt', this.f.getsockopt(fd, level, name, buf, len));
    return buf.subarray(0, Math.min(length, len[0]));
  }

  bind(fd: number, addr: Uint8Array): void {
    this.check('bind', this.f.bind(fd, addr, addr.length));
  }

  recv(fd: number, buf: Uint8Array, flags: number): number {
    return this.check('recv', this.f.recv(fd, buf, buf.length, flags));
  }

  recvfrom(fd: number, buf: Uint8Array, flags: number, addr: Uint8Array): { length: number; addrLength: number } {
    const alen = [addr.length];
    const n = this.check('recvfrom', this.f.recvfrom(fd, buf, buf.length, flags, addr, alen));
    return { length: n, addrLength: alen[0] };
  }

  sendto(fd: number, buf: Uint8Array, flags: number, addr?: Uint8Array): number {
    return this.check('sendto', this.f.sendto(fd, buf, buf.length, flags, addr ?? null, addr?.length ?? 0));
  }

  prctl(option: number, arg2: number, arg3 = 0, arg4 = 0, arg5 = 0): number {
    return this.check('prctl', this.f.prctl(option, arg2, arg3, arg4, arg5));
  }

  seccomp(operation: number, flags: number, args: Uint8Array | undefined): number {
    const ptr = args ? this.addressOf(args) : 0n;
    return this.check('seccomp', this.f.syscallLong(this.nr.seccomp, operation, flags, ptr, 0, 0, 0));
  }

  fcntl(fd: number, cmd: number, arg = 0): number {
    return this.check('fcntl', this.f.fcntl(fd, cmd, 'long', arg));
  }

  poll(fd: number, events: Partial<PollEvents>, callback: (events: PollEvents) => void): PollWatcher {
    const h = this.k.node.poll(fd, events, callback);
    return { close: () => h.close(), unref: () => h.unref() };
  }

  epollCreate(): number {
    const EPOLL_CLOEXEC = 0o2000000;
    return this.check('epoll_create1', this.f.epoll_create1(EPOLL_CLOEXEC));
  }

  // struct epoll_event is packed (12 bytes) on x86-64 and naturally aligned (16 bytes) elsewhere.
  private get epollEventSize(): number {
    return this.arch === 'x64' ? 12 : 16;
  }

  epollCtl(epfd: number, op: number, fd: number, events: number, data: bigint): void {
    const ev = new Uint8Array(new ArrayBuffer(16));
    const dv = new DataView(ev.buffer);
    dv.setUint32(0, events, true);
    dv.setBigUint64(this.arch === 'x64' ? 4 : 8, data, true);
    this.check('epoll_ctl', this.f.epoll_ctl(epfd, op, fd, ev));
  }

  epollWait(epfd: number, maxEvents: number, timeoutMs: number): EpollEvent[] {
    const size = this.epollEventSize;
    const buf = new Uint8Array(new ArrayBuffer(size * maxEvents));
    const n = this.check('epoll_wait', this.f.epoll_wait(epfd, buf, maxEvents, timeoutMs));
    const dv = new DataView(buf.buffer);
    const out: EpollEvent[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ events: dv.getUint32(i * size, true), data: dv.getBigUint64(i * size + (this.arch === 'x64' ? 4 : 8), true) });
    }
    return out;
  }

  ifNameToIndex(name: string): number {
    const idx = Number(this.f.if_nametoindex(name));
    if (idx === 0) throw new SyscallError('if_nametoindex', this.k.errno(), { hint: `no network interface named "${name}"` });
    return idx;
  }

  gettid(): number {
    return this.check('gettid', this.f.syscallLong(this.nr.gettid, 0, 0, 0, 0, 0, 0));
  }
}
