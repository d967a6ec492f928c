// The README's example, run by test/example.test.ts.
//
//   npm run build && npm run example -w @vnet/ip
import {
  canonicalIp,
  canonicalMac,
  formatIpBytes,
  formatIpv4,
  formatIpv6,
  parseIpBytes,
  parseIpv4,
  parseIpv6,
  parsePrefix,
} from '../src/index.js';

const vtep = parseIpv4('44.128.0.7'); // 746586119 (a uint32), undefined for '44.128.0.07'
console.log(vtep, formatIpv4((vtep ?? 0) + 1)); // 746586119 44.128.0.8

const v6 = parseIpv6('FD01:000B:0:0:0:0:0:2'); // 128-bit bigint
console.log(formatIpv6((v6 ?? 0n) + 1n)); // fd01:b::3

// One canonical text (glibc inet_ntop's, what `ip` prints): compare addresses as strings.
console.log(canonicalIp('0:0:0:0:0:ffff:c000:0280')); // ::ffff:192.0.2.128
console.log(canonicalIp('10.0.0.1 '), canonicalMac('70:B3:D5:80:00:02')); // undefined 70:b3:d5:80:00:02

const bytes = parseIpBytes('2001:db8::1'); // Uint8Array(16), network order
console.log(bytes && formatIpBytes(bytes)); // 2001:db8::1

console.log(parsePrefix('fd01:b::1/64')); // { family: 6, value: …n, prefix: 64, ip: 'fd01:b::1', text: 'fd01:b::1/64' }
console.log(parsePrefix('10.0.0.0/33')); // undefined
