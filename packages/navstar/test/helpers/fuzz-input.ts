// Fuzz inputs: random bytes, and valid queries broken in the ways that matter for DNS parsers.
import { buildQuery } from './packets.js';
import { int, pick } from './random.js';

const NAMES = [
  'app1-g1.marathon.agentip.dcos',
  'svc0.kafka.containerip.dcos.thisdcos.directory',
  'big.marathon.containerip.dcos',
  '_app1-g1._tcp.marathon.dcos',
  '_http._app3-g3._tcp.marathon.dcos.thisdcos.directory',
  'nope.marathon.autoip.dcos',
  'dcos',
  'leader.dcos',
  'www.example.com',
  'a.b.c.d.e.f.g.h',
];
const TYPES = [1, 2, 6, 16, 28, 33, 41, 251, 252, 255, 65535, 0];

/** One fuzz input from the random source `r`. */
export function fuzzInput(r: () => number): Buffer {
  const kind = r();
  if (kind < 0.2) {
    const b = Buffer.alloc(int(r, 600));
    for (let i = 0; i < b.length; i++) b[i] = int(r, 256);
    return b;
  }
  let q = buildQuery({
    id: int(r, 65536),
    name: pick(r, NAMES),
    type: pick(r, TYPES),
    qclass: r() < 0.9 ? 1 : int(r, 300),
    edns:
      r() < 0.6
        ? {
            size: int(r, 5000),
            version: r() < 0.9 ? 0 : int(r, 3),
            do: r() < 0.3,
            options: r() < 0.2 ? Buffer.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) : undefined,
          }
        : undefined,
  });
  const mutations = kind < 0.3 ? 0 : 1 + int(r, 4);
  for (let m = 0; m < mutations; m++) {
    const what = r();
    if (what < 0.25 && q.length > 0) {
      q[int(r, q.length)] ^= 1 << int(r, 8);
    } else if (what < 0.4) {
      q = q.subarray(0, int(r, q.length + 1));
    } else if (what < 0.55 && q.length >= 12) {
      // Inflate or zero a count field.
      const field = 4 + 2 * int(r, 4);
      q.writeUInt16BE(pick(r, [0, 1, 2, 3, 255, 0xffff, int(r, 65536)]), field);
    } else if (what < 0.7 && q.length > 13) {
      // A compression pointer somewhere, possibly to itself or forward.
      const at = 12 + int(r, q.length - 13);
      const target = pick(r, [at, at + 2, 0, 12, int(r, q.length + 20)]);
      q[at] = 0xc0 | ((target >> 8) & 0x3f);
      q[at + 1] = target & 0xff;
    } else if (what < 0.8 && q.length > 12) {
      // A bad label length.
      q[12 + int(r, q.length - 12)] = pick(r, [63, 64, 0x40, 0x80, 0xff, int(r, 256)]);
    } else if (what < 0.9) {
      // Trailing garbage, or an extra additional record with a looping owner name.
      const loop = Buffer.from([0xc0, q.length & 0xff, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
      q = Buffer.concat([q, r() < 0.5 ? loop : Buffer.from([int(r, 256), int(r, 256)])]);
      if (q.length >= 12 && r() < 0.5) q.writeUInt16BE((q.readUInt16BE(10) + 1) & 0xffff, 10);
    } else if (q.length > 0) {
      // Drop a byte from the middle.
      const at = int(r, q.length);
      q = Buffer.concat([q.subarray(0, at), q.subarray(at + 1)]);
    }
  }
  return q;
}
