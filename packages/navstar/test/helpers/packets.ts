// Raw DNS queries and exchanges for tests: build exactly the bytes a case needs, send them over
// real UDP or TCP sockets to 127.0.0.1, and get the raw reply back.
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeName } from '../../src/wire/name.js';

export interface QuerySpec {
  id?: number;
  name: string;
  type?: number;
  qclass?: number;
  rd?: boolean;
  cd?: boolean;
  /** EDNS: UDP size, version, DO bit, raw options. */
  edns?: { size?: number; version?: number; do?: boolean; options?: Buffer };
}

export function buildQuery(q: QuerySpec): Buffer {
  const name = encodeName(q.name);
  const parts: Buffer[] = [];
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id ?? 0x1234, 0);
  h[2] = q.rd === false ? 0 : 1;
  h[3] = q.cd ? 0x10 : 0;
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(q.edns ? 1 : 0, 10);
  parts.push(h, name);
  const tc = Buffer.alloc(4);
  tc.writeUInt16BE(q.type ?? 1, 0);
  tc.writeUInt16BE(q.qclass ?? 1, 2);
  parts.push(tc);
  if (q.edns) {
    const opts = q.edns.options ?? Buffer.alloc(0);
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(q.edns.size ?? 1232, 3);
    opt[6] = q.edns.version ?? 0;
    opt[7] = q.edns.do ? 0x80 : 0;
    opt.writeUInt16BE(opts.length, 9);
    parts.push(opt, opts);
  }
  return Buffer.concat(parts);
}

/** Sends one datagram; resolves with the reply, or undefined after `timeoutMs`. */
export function udpExchange(
  port: number,
  msg: Buffer,
  timeoutMs = 1000,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/**
 * Sends every message on one TCP connection at once (pipelined), and collects `expect` replies
 * (default: one per message); resolves early with what arrived when the server closes.
 */
export function tcpExchange(
  port: number,
  msgs: Buffer[],
  expect = msgs.length,
  timeoutMs = 3000,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const sock = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(replies);
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(replies);
    };
    sock.on('connect', () => {
      sock.write(
        Buffer.concat(
          msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m])),
        ),
      );
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= expect) done();
    });
    sock.on('close', done);
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (replies.length > 0) resolve(replies);
      else reject(e);
    });
  });
}
