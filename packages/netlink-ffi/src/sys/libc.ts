// The handful of libc calls the library needs, bound with koffi. Everything else (message
// framing, attributes, byte order) is TypeScript over Buffers.
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
    errno: () => koffi.errno(),
  };
  return bound;
}
