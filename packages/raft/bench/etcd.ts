// A 3-member etcd cluster (Debian's etcd-server) on loopback, and its gRPC put target. The
// protobuf messages needed (PutRequest, StatusResponse) are encoded by hand: no .proto compiler.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
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

/** etcdserverpb.PutRequest { bytes key = 1; bytes value = 2; } */
export function encodePut(key: string, value: Buffer): Buffer {
  return Buffer.concat([field(1, Buffer.from(key)), field(2, value)]);
}

/** Decodes top-level protobuf fields: varints as bigint, length-delimited as Buffer. */
function decodeFields(buf: Buffer): Map<number, bigint | Buffer> {
  const out = new Map<number, bigint | Buffer>();
  let i = 0;
  const readVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(readVarint());
    const wire = tag & 7;
    if (wire === 0) out.set(tag >> 3, readVarint());
    else if (wire === 2) {
      const len = Number(readVarint());
      out.set(tag >> 3, buf.subarray(i, i + len));
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`etcd status: unsupported wire type ${wire}`);
  }
  return out;
}

/** Maintenance/Status: returns [member id, leader id]. */
async function status(address: string): Promise<[bigint, bigint]> {
  const c = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const res = await new Promise<Buffer>((resolve, reject) =>
      c.makeUnaryRequest(
        '/etcdserverpb.Maintenance/Status',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new grpc.Metadata(),
        { deadline: Date.now() + 1000 },
        (err, r) => (err ? reject(err) : resolve(r!)),
      ),
    );
    const top = decodeFields(res);
    const header = decodeFields((top.get(1) as Buffer | undefined) ?? Buffer.alloc(0));
    return [(header.get(2) as bigint | undefined) ?? 0n, (top.get(4) as bigint | undefined) ?? 0n];
  } finally {
    c.close();
  }
}

export class EtcdCluster {
  private readonly procs: ChildProcess[] = [];

  private constructor(readonly clientAddrs: string[]) {}

  static async start(
    dir: string,
    clientPorts: number[],
    peerPorts: number[],
  ): Promise<EtcdCluster> {
    const names = clientPorts.map((_, i) => `e${i + 1}`);
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',');
    const c = new EtcdCluster(clientPorts.map((p) => `127.0.0.1:${p}`));
    names.forEach((name, i) => {
      const child = spawn(
        '/usr/bin/etcd',
        [
          '--name',
          name,
          '--data-dir',
          join(dir, name),
          '--listen-client-urls',
          `http://127.0.0.1:${clientPorts[i]}`,
          '--advertise-client-urls',
          `http://127.0.0.1:${clientPorts[i]}`,
          '--listen-peer-urls',
          `http://127.0.0.1:${peerPorts[i]}`,
          '--initial-advertise-peer-urls',
          `http://127.0.0.1:${peerPorts[i]}`,
          '--initial-cluster',
          initial,
          '--initial-cluster-token',
          'raft-bench',
          '--initial-cluster-state',
          'new',
          '--logger',
          'zap',
          '--log-level',
          'error',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      c.procs.push(child);
    });
    return c;
  }

  /** Waits until every member agrees on a leader; returns the leader's client address. */
  async leader(timeoutMs = 20_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      try {
        const st = await Promise.all(this.clientAddrs.map(status));
        const leader = st[0]![1];
        if (leader !== 0n && st.every(([, l]) => l === leader)) {
          const i = st.findIndex(([id]) => id === leader);
          if (i >= 0) return this.clientAddrs[i]!;
        }
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('etcd: no leader within the timeout');
  }

  target(address: string): Target {
    return { address, path: '/etcdserverpb.KV/Put', encode: encodePut };
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
          }),
      ),
    );
  }
}
