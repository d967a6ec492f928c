// The handful of libc calls the library needs, bound with koffi (once per thread that uses them:
// the monitor's reader thread binds its own). Everything else (message framing, attributes, byte
// order) is TypeScript over Buffers.
import koffi from 'koffi';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array,
    alen: number,
  ): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  setns(fd: number, nstype: number): number;
  close(fd: number): number;
  /** `fds` is an array of struct pollfd (int fd; short events; short revents). */
  poll(fds: Uint8Array, nfds: number, timeoutMs: number): number;
  eventfd(initval: number, flags: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  /** errno of the last failed call on this thread (read it right after the call). */
  errno(): number;
}

let bound: Libc | undefined;

/** The bindings, created on first use (loading libc once per process is all koffi needs). */
export function libc(): Libc {
  if (bound) return bound;
  const lib = koffi.load('libc.so.6');
  const fn = <F>(proto: string) => lib.func(proto) as unknown as F;
  bound = {
    socket: fn('int socket(int domain, int type, int protocol)'),
    bind: fn('int bind(int fd, const void *addr, uint32_t len)'),
    getsockname: fn('int getsockname(int fd, _Out_ void *addr, _Inout_ void *len)'),
    setsockopt: fn('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)'),
    sendto: fn(
      'long sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)',
    ),
    recv: fn('long recv(int fd, _Out_ void *buf, size_t len, int flags)'),
    setns: fn('int setns(int fd, int nstype)'),
    close: fn('int close(int fd)'),
    poll: fn('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)'),
    eventfd: fn('int eventfd(unsigned int initval, int flags)'),
    read: fn('long read(int fd, _Out_ void *buf, size_t len)'),
    write: fn('long write(int fd, const void *buf, size_t len)'),
    errno: () => koffi.errno(),
  };
  return bound;
}
