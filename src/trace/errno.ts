/** Linux errno names, numbers and glibc's strerror() texts (for strerror() and the E* constants of errno.h). */

/** [name, number, message] for the common errno values of Linux (asm-generic/errno-base.h and errno.h). */
export const ERRNO: readonly (readonly [string, number, string])[] = [
  ['EPERM', 1, 'Operation not permitted'], ['ENOENT', 2, 'No such file or directory'], ['ESRCH', 3, 'No such process'],
  ['EINTR', 4, 'Interrupted system call'], ['EIO', 5, 'Input/output error'], ['ENXIO', 6, 'No such device or address'],
  ['E2BIG', 7, 'Argument list too long'], ['ENOEXEC', 8, 'Exec format error'], ['EBADF', 9, 'Bad file descriptor'],
  ['ECHILD', 10, 'No child processes'], ['EAGAIN', 11, 'Resource temporarily unavailable'], ['ENOMEM', 12, 'Cannot allocate memory'],
  ['EACCES', 13, 'Permission denied'], ['EFAULT', 14, 'Bad address'], ['ENOTBLK', 15, 'Block device required'],
  ['EBUSY', 16, 'Device or resource busy'], ['EEXIST', 17, 'File exists'], ['EXDEV', 18, 'Invalid cross-device link'],
  ['ENODEV', 19, 'No such device'], ['ENOTDIR', 20, 'Not a directory'], ['EISDIR', 21, 'Is a directory'],
  ['EINVAL', 22, 'Invalid argument'], ['ENFILE', 23, 'Too many open files in system'], ['EMFILE', 24, 'Too many open files'],
  ['ENOTTY', 25, 'Inappropriate ioctl for device'], ['ETXTBSY', 26, 'Text file busy'], ['EFBIG', 27, 'File too large'],
  ['ENOSPC', 28, 'No space left on device'], ['ESPIPE', 29, 'Illegal seek'], ['EROFS', 30, 'Read-only file system'],
  ['EMLINK', 31, 'Too many links'], ['EPIPE', 32, 'Broken pipe'], ['EDOM', 33, 'Numerical argument out of domain'],
  ['ERANGE', 34, 'Numerical result out of range'], ['EDEADLK', 35, 'Resource deadlock avoided'], ['ENAMETOOLONG', 36, 'File name too long'],
  ['ENOLCK', 37, 'No locks available'], ['ENOSYS', 38, 'Function not implemented'], ['ENOTEMPTY', 39, 'Directory not empty'],
  ['ELOOP', 40, 'Too many levels of symbolic links'], ['ENOTSUP', 95, 'Operation not supported'], ['EOPNOTSUPP', 95, 'Operation not supported'],
  ['ETIMEDOUT', 110, 'Connection timed out'], ['ECONNREFUSED', 111, 'Connection refused'], ['EALREADY', 114, 'Operation already in progress'],
  ['EINPROGRESS', 115, 'Operation now in progress'],
];

const BY_NUMBER = new Map(ERRNO.map(([, n, m]) => [n, m]));
const BY_NAME = new Map(ERRNO.map(([name, n]) => [name, n]));

/** glibc's text for an errno value (`Unknown error N` otherwise). */
export function strerror(n: number): string {
  return BY_NUMBER.get(n) ?? `Unknown error ${n}`;
}

/** The number of an errno name (`EPERM` → 1). */
export function errnoNumber(name: string): number | undefined {
  return BY_NAME.get(name);
}
