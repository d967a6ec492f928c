// The bench's addresses: IPv6 texts as a data plane sees them — mostly canonical, in a few
// prefixes, some IPv4-mapped, some written out in full or in upper case — from a fixed seed.
import { mulberry32 } from '@vnet/testkit';

const group = (r: () => number) => Math.floor(r() * 0x10000).toString(16);

/** `n` IPv6 address texts. */
export function ipv6Texts(n: number, seed = 1): string[] {
  const r = mulberry32(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = r();
    const g = () => group(r);
    if (k < 0.4) out.push(`fd01:b::${g()}:${g()}`);
    else if (k < 0.6) out.push(`2001:db8:${g()}:${g()}::${g()}`);
    else if (k < 0.7) out.push(`::ffff:10.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.1`);
    else if (k < 0.8) out.push(Array.from({ length: 8 }, g).join(':'));
    else if (k < 0.9) out.push(`FD01:000B:0000:0000:0000:0000:${g()}:${g()}`.toUpperCase());
    else out.push(`fe80::${g()}:${g()}:${g()}:${g()}`);
  }
  return out;
}
