// The few libc socket calls the batched UDP engine needs, through koffi. Linux only (x86-64 and
// arm64 share every constant and struct layout used here). loadLibc() returns undefined where this
// cannot work, and the server then falls back to node:dgram.
import { parseIpBytes } from '@vnet/ip';
import koffi from 'koffi';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_SNDBUF = 7;
const SO_RCVTIMEO = 20;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
export const MSG_DONTWAIT = 0x40;
export const MSG_TRUNC = 0x20;
export const MSG_WAITFORONE = 0x10000;
export const EAGAIN = 11;
export const EINTR = 4;
export const EBADF = 9;
/** sizeof(struct mmsghdr), offsets of its fields, sizeof(struct iovec), sockaddr slot size. */
export const MMSGHDR_SIZE = 64;
export const MSG_NAMELEN = 8;
export const MSG_IOV = 16;
export const MSG_IOVLEN = 24;
export const MSG_FLAGS = 48;
export const MSG_LEN = 56;
export const IOVEC_SIZE = 16;
export const SOCKADDR_SLOT = 32;

type Fn = (...args: unknown[]) => number;

export interface Libc {
  socket: Fn;
  setsockopt: Fn;
  bind: Fn;
  getsockname: Fn;
  recvmmsg: Fn;
  sendmmsg: Fn;
  sendto: Fn;
  close: Fn;
  errno(): number;
  strerror(errno: number): string;
}

let cached: Libc | null | undefined;

/** The libc bindings, or undefined when not on Linux or koffi cannot load libc. */
export function loadLibc(): Libc | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64'))
    return undefined;
  try {
    const lib = koffi.load('libc.so.6');
    const strerror = lib.func('const char *strerror(int)') as (e: number) => string;
    cached = {
      socket: lib.func('int socket(int, int, int)') as Fn,
      setsockopt: lib.func('int setsockopt(int, int, int, void *, uint32_t)') as Fn,
      bind: lib.func('int bind(int, void *, uint32_t)') as Fn,
      getsockname: lib.func('int getsockname(int, void *, _Inout_ uint32_t *)') as Fn,
      recvmmsg: lib.func('int recvmmsg(int, void *, uint32_t, int, void *)') as Fn,
      sendmmsg: lib.func('int sendmmsg(int, void *, uint32_t, int)') as Fn,
      sendto: lib.func('intptr_t sendto(int, void *, uintptr_t, int, void *, uint32_t)') as Fn,
      close: lib.func('int close(int)') as Fn,
      errno: () => koffi.errno(),
      strerror: (e: number) => strerror(e),
    };
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

/** struct sockaddr_in / sockaddr_in6 for an address and port. */
function sockaddr(address: string, port: number): Buffer {
  const bytes = parseIpBytes(address);
  if (bytes?.length === 4) {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    sa.set(bytes, 4);
    return sa;
  }
  if (bytes?.length === 16) {
    const sa = Buffer.alloc(28);
    sa.writeUInt16LE(AF_INET6, 0);
    sa.writeUInt16BE(port, 2);
    sa.set(bytes, 8);
    return sa;
  }
  throw new Error(`"${address}" is not an IP address`);
}

function check(libc: Libc, r: number, what: string): number {
  if (r < 0) {
    const e = libc.errno();
    throw new Error(`${what} failed: ${libc.strerror(e)} (errno ${e})`);
  }
  return r;
}

/**
 * A blocking UDP socket bound to address:port (port 0 picks one), with a receive timeout so that
 * threads blocked on it wake up regularly. Returns the fd and the bound port.
 */
export function openUdpSocket(
  libc: Libc,
  address: string,
  port: number,
  opts: { rcvTimeoutMs: number; bufferBytes: number },
): { fd: number; port: number } {
  const sa = sockaddr(address, port);
  const family = sa.length === 16 ? AF_INET : AF_INET6;
  const fd = check(libc, libc.socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), 'socket()');
  try {
    const int = (v: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      return b;
    };
    if (family === AF_INET6) {
      check(
        libc,
        libc.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, int(0), 4),
        'setsockopt(IPV6_V6ONLY)',
      );
    }
    // Larger buffers absorb bursts; the kernel caps them at net.core.[rw]mem_max.
    libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, int(opts.bufferBytes), 4);
    libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, int(opts.bufferBytes), 4);
    const tv = Buffer.alloc(16);
    tv.writeBigInt64LE(BigInt(Math.floor(opts.rcvTimeoutMs / 1000)), 0);
    tv.writeBigInt64LE(BigInt((opts.rcvTimeoutMs % 1000) * 1000), 8);
    check(libc, libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), 'setsockopt(SO_RCVTIMEO)');
    check(libc, libc.bind(fd, sa, sa.length), `bind(${address}:${port})`);
    const out = Buffer.alloc(28);
    const len = [28];
    check(libc, libc.getsockname(fd, out, len), 'getsockname()');
    return { fd, port: out.readUInt16BE(2) };
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}
