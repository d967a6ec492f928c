// The load generator's target on etcd: KV/Put over gRPC, the protobuf request encoded by hand
// (etcdserverpb.PutRequest { bytes key = 1; bytes value = 2; }): no .proto compiler needed.
import type { Target } from './loadgen.js';

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function field(no: number, data: Buffer): Buffer {
  return Buffer.concat([varint((no << 3) | 2), varint(data.length), data]);
}

/** Puts to the etcd member whose client URL is `address` (host:port). */
export function etcdPutTarget(address: string): Target {
  return {
    address,
    path: '/etcdserverpb.KV/Put',
    encode: (key, value) => Buffer.concat([field(1, Buffer.from(key)), field(2, value)]),
  };
}
