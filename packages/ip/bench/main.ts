// npm run bench -w @vnet/ip: parse + format of 100,000 IPv6 address texts (text -> value ->
// canonical text), this library against ip-address (`new Address6(text).bigInt()`, then
// `Address6.fromBigInt(v).correctForm()`, what overlay-core's cidr.ts does today), side by side
// in one run. The machine is shared: ROUNDS rounds with the two sides alternating, best of each.
// Also, ours only: the bytes paths, IPv4, and canonicalIp from its cache.
// Last stdout line: the DESIGN.md JSON (addresses per second).
import { Address6 } from 'ip-address';
import {
  canonicalIp,
  formatIpv4,
  formatIpv6,
  formatIpv6Bytes,
  parseIpv4,
  parseIpv6,
  parseIpv6Into,
} from '../src/index.js';
import { ipv6Texts } from './workload.js';

const N = Number(process.env.BENCH_ADDRESSES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const texts = ipv6Texts(N);
let sink = 0;

/** Addresses per second of one pass of `run` over `list`. */
function rate(run: (text: string) => string, list = texts): number {
  const start = process.hrtime.bigint();
  for (const text of list) sink += run(text).length;
  const ns = Number(process.hrtime.bigint() - start);
  return (list.length * 1e9) / ns;
}

const ours = (text: string) => formatIpv6(parseIpv6(text) as bigint);
const theirs = (text: string) => Address6.fromBigInt(new Address6(text).bigInt()).correctForm();

// The two sides produce the same text except for the dotted tail of ::ffff:a.b.c.d.
for (const text of texts.slice(0, 1000)) {
  const a = ours(text);
  const b = theirs(text);
  if (a !== b && !a.startsWith('::ffff:')) throw new Error(`${text}: ${a} vs ${b}`);
}

const best = { ours: 0, theirs: 0 };
rate(ours);
rate(theirs);
for (let round = 0; round < ROUNDS; round++) {
  best.ours = Math.max(best.ours, rate(ours));
  best.theirs = Math.max(best.theirs, rate(theirs));
}

const buf = new Uint8Array(16);
const bytes = (text: string) => {
  parseIpv6Into(text, buf, 0);
  return formatIpv6Bytes(buf, 0);
};
// A reconciler's working set: 10,000 peers' addresses, seen again on every pass.
const peers = Array.from({ length: texts.length }, (_, i) => texts[i % 10_000] as string);
const v4texts = texts.map((_, i) => formatIpv4((0x0a000000 + i * 7919) >>> 0));
const v4 = (text: string) => formatIpv4(parseIpv4(text) as number);
const extra = { bytes: 0, cached: 0, v4: 0 };
for (let round = 0; round < ROUNDS; round++) {
  extra.bytes = Math.max(extra.bytes, rate(bytes));
  extra.cached = Math.max(
    extra.cached,
    rate((text) => canonicalIp(text) as string, peers),
  );
  extra.v4 = Math.max(extra.v4, rate(v4, v4texts));
}

const k = (n: number) => `${(n / 1000).toFixed(0)}k/s`;
console.log(`${N} IPv6 texts, parse + format, best of ${ROUNDS} rounds (sink ${sink % 10})`);
console.log(`  @vnet/ip   (bigint)        ${k(best.ours)}`);
console.log(
  `  ip-address (bigint)        ${k(best.theirs)}   ratio ${(best.ours / best.theirs).toFixed(1)}`,
);
console.log(`  @vnet/ip   (16 bytes)      ${k(extra.bytes)}`);
console.log(`  @vnet/ip   canonicalIp     ${k(extra.cached)} (10,000 texts seen 10 times: cached)`);
console.log(`  @vnet/ip   IPv4 (uint32)   ${k(extra.v4)}`);
console.log(
  JSON.stringify({
    bench: 'ip-ipv6-parse-format-100k',
    unit: 'addresses/s',
    ours: Math.round(best.ours),
    anchor: 'ip-address 10 (Address6 -> bigInt -> fromBigInt().correctForm())',
    anchor_value: Math.round(best.theirs),
    ratio: Number((best.ours / best.theirs).toFixed(3)),
    higher_is_better: true,
  }),
);
