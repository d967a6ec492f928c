// The server-side HTTP/2 connection against node:http2's client (nghttp2): header blocks with
// Huffman coding and dynamic-table indexing over many requests, request and response bodies far
// beyond the default flow-control windows, trailers, resets, and protocol errors that close only
// the offending connection.
import { connect, constants } from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import { testSeed } from '@vnet/testkit';
import t from 'tap';
import { Prng } from '../src/core/prng.js';
import { H2Error } from '../src/transport/h2-connection.js';
import type { H2ServerStream } from '../src/transport/h2-server-connection.js';
import { H2ServerConnection } from '../src/transport/h2-server-connection.js';
import { encodeHeaders } from '../src/transport/hpack.js';

interface Harness {
  server: Server;
  url: string;
  resets: number[];
  close(): Promise<void>;
}

/** A server whose streams answer with their request headers and body size (JSON). */
async function start(window = 1024 * 1024): Promise<Harness> {
  const conns = new Set<H2ServerConnection>();
  const resets: number[] = [];
  const server = createServer((socket: Socket) => {
    const conn = new H2ServerConnection(
      socket,
      { windowBytes: window, maxConcurrentStreams: 100, maxHeaderListBytes: 16 * 1024 },
      ({ stream: s, headers }: H2ServerStream) => {
        const header = (name: string) => headers.find(([n]) => n === name)?.[1];
        let size = 0;
        s.onData = (c) => {
          size += c.length;
        };
        s.onReset = () => resets.push(s.id);
        s.onEnd = () => {
          if (header('x-hold')) return;
          const reply = Number(header('x-reply-bytes') ?? 0);
          const body = Buffer.concat([
            Buffer.from(JSON.stringify({ headers, size })),
            Buffer.alloc(reply, 'r'),
          ]);
          s.hold();
          s.sendHeaders(encodeHeaders([[':status', '200']]), false);
          s.write(body);
          s.end(encodeHeaders([['x-trailer', String(body.length)]]));
        };
      },
      () => conns.delete(conn),
    );
    conns.add(conn);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    resets,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

interface Reply {
  status: number;
  body: Buffer;
  trailers: Record<string, unknown>;
}

function request(
  session: ReturnType<typeof connect>,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/x', ...headers });
    const chunks: Buffer[] = [];
    let status = 0;
    let trailers: Record<string, unknown> = {};
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('trailers', (h) => {
      trailers = h;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('node:http2 clients: varied headers over one connection decode exactly', async (t) => {
  const h = await start();
  t.teardown(() => h.close());
  const session = connect(h.url);
  t.teardown(() => session.close());
  const seed = testSeed(7);
  const prng = new Prng(seed);
  const rand = () => prng.next();
  const word = (n: number) =>
    Array.from({ length: n }, () => String.fromCharCode(33 + Math.floor(rand() * 94))).join('');
  for (let i = 0; i < 300; i++) {
    const headers: Record<string, string> = {};
    // Repeated names and values make nghttp2 index them; new ones keep the table churning.
    for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) {
      const name = `x-h${Math.floor(rand() * 20)}`;
      headers[name] =
        rand() < 0.5 ? `v${Math.floor(rand() * 5)}` : word(1 + Math.floor(rand() * 200));
    }
    const r = await request(session, headers);
    const got = JSON.parse(r.body.toString()) as { headers: [string, string][] };
    const map = Object.fromEntries(got.headers.filter(([n]) => n.startsWith('x-h')));
    if (JSON.stringify(map) !== JSON.stringify(headers)) {
      t.same(map, headers, `request ${i} (VNET_SEED=${seed})`);
      return;
    }
  }
  t.pass('300 requests decoded exactly');
});

t.test('bodies beyond the flow-control windows pass both ways, trailers last', async (t) => {
  const h = await start(256 * 1024);
  t.teardown(() => h.close());
  const session = connect(h.url);
  t.teardown(() => session.close());
  const upload = Buffer.alloc(3 * 1024 * 1024, 'u');
  const [a, b] = await Promise.all([
    request(session, { 'x-reply-bytes': String(2 * 1024 * 1024) }, upload),
    request(session, { 'x-reply-bytes': '100000' }, upload.subarray(0, 500_000)),
  ]);
  for (const [r, size, reply] of [
    [a, upload.length, 2 * 1024 * 1024],
    [b, 500_000, 100_000],
  ] as const) {
    t.equal(r.status, 200);
    const json = r.body.subarray(0, r.body.length - reply).toString();
    t.equal((JSON.parse(json) as { size: number }).size, size, 'request body arrived whole');
    t.equal(r.trailers['x-trailer'], String(r.body.length), 'trailers after all the data');
  }
});

t.test('a client reset reaches the stream; the connection stays usable', async (t) => {
  const h = await start();
  t.teardown(() => h.close());
  const session = connect(h.url);
  t.teardown(() => session.close());
  // x-hold: the server does not answer, so the stream is open when the reset comes.
  const req = session.request({ ':method': 'POST', ':path': '/x', 'x-hold': '1' });
  req.on('error', () => {});
  req.write('partial');
  await new Promise((r) => setTimeout(r, 50));
  req.close(constants.NGHTTP2_CANCEL);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(h.resets.length, 1, 'onReset called once');
  const r = await request(session, { 'x-after': 'reset' });
  t.equal(r.status, 200);
});

/** Sends raw bytes and collects what the server writes until it closes the connection. */
function raw(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (c) => got.push(c));
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('error', () => {});
    s.write(bytes);
  });
}

/** The error code of the GOAWAY frame in `out`, if there is one. */
function goawayCode(out: Buffer): number | undefined {
  for (let off = 0; off + 9 <= out.length; ) {
    const len = out.readUIntBE(off, 3);
    if (out[off + 3] === 7) return out.readUInt32BE(off + 9 + 4);
    off += 9 + len;
  }
  return undefined;
}

t.test('protocol errors close that connection with GOAWAY, the server lives on', async (t) => {
  const h = await start();
  t.teardown(() => h.close());
  const { port } = h.server.address() as AddressInfo;
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
  const settings = Buffer.from('000000040000000000', 'hex');
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const hdr = Buffer.alloc(9);
    hdr.writeUIntBE(payload.length, 0, 3);
    hdr[3] = type;
    hdr[4] = flags;
    hdr.writeUInt32BE(stream, 5);
    return Buffer.concat([hdr, payload]);
  };
  const cases: [string, Buffer, number][] = [
    ['HTTP/1.1 request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), H2Error.PROTOCOL_ERROR],
    [
      'HEADERS on stream 0',
      Buffer.concat([preface, settings, frame(1, 5, 0, Buffer.from('82', 'hex'))]),
      H2Error.PROTOCOL_ERROR,
    ],
    [
      'bad HPACK index',
      Buffer.concat([preface, settings, frame(1, 5, 1, Buffer.from('ff00', 'hex'))]),
      H2Error.COMPRESSION_ERROR,
    ],
    [
      'oversized frame',
      Buffer.concat([preface, settings, frame(0, 0, 1, Buffer.alloc(20_000))]),
      H2Error.FRAME_SIZE_ERROR,
    ],
    [
      'no SETTINGS first',
      Buffer.concat([preface, frame(6, 0, 0, Buffer.alloc(8))]),
      H2Error.PROTOCOL_ERROR,
    ],
    [
      'even stream id',
      Buffer.concat([preface, settings, frame(1, 5, 2, Buffer.from('83', 'hex'))]),
      H2Error.PROTOCOL_ERROR,
    ],
  ];
  for (const [name, bytes, code] of cases) {
    t.equal(goawayCode(await raw(port, bytes)), code, name);
  }
  const session = connect(h.url);
  t.teardown(() => session.close());
  t.equal((await request(session, {})).status, 200, 'a well-behaved client is still served');
});
