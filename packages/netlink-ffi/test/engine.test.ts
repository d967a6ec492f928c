// The request engine against a scripted kernel (no sockets): ack matching by sequence number,
// partial failures, link-name lookups and their ordering, dump retries, decode failures in the
// middle of a dump, lost replies (ENOBUFS), and one user of the socket at a time.
import t from 'tap';
import { type Message, parseMessages } from '../src/codec/attributes.js';
import * as C from '../src/codec/constants.js';
import { Engine, type Transport } from '../src/engine.js';
import { NetlinkDecodeError, NetlinkError } from '../src/errors.js';
import { decodeLink, encodeLinkAdd, encodeLinkList } from '../src/objects/link.js';
import { encodeNeighbour } from '../src/objects/neighbour.js';
import {
  describeOperation,
  encodeOperation,
  type Operation,
  renamesLinks,
} from '../src/operations.js';
import { encoded } from './helpers/encode.js';

function header(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  return Buffer.concat([h, body]);
}

function ack(seq: number, errno = 0, text?: string): Buffer {
  const body = Buffer.alloc(20);
  body.writeInt32LE(-errno, 0);
  body.writeUInt32LE(seq, 12);
  let flags = C.NLM_F_CAPPED;
  let tlv = Buffer.alloc(0);
  if (text) {
    const s = Buffer.from(`${text}\0`);
    tlv = Buffer.alloc(4 + ((s.length + 3) & ~3));
    tlv.writeUInt16LE(4 + s.length, 0);
    tlv.writeUInt16LE(C.NLMSGERR_ATTR_MSG, 2);
    s.copy(tlv, 4);
    flags |= C.NLM_F_ACK_TLVS;
  }
  return header(C.NLMSG_ERROR, flags, seq, Buffer.concat([body, tlv]));
}

function isAck(r: Buffer | Error): boolean {
  return r instanceof Buffer && r.readUInt16LE(4) === C.NLMSG_ERROR && r.readInt32LE(16) === 0;
}

function done(seq: number, flags = C.NLM_F_MULTI): Buffer {
  return header(C.NLMSG_DONE, flags, seq, Buffer.alloc(4));
}

function linkReply(seq: number, name: string, index: number, flags = C.NLM_F_MULTI): Buffer {
  const m = Buffer.from(encoded((ctx) => encodeLinkAdd({ name, kind: 'bridge' }, ctx)));
  m.writeUInt16LE(C.RTM_NEWLINK, 4);
  m.writeUInt16LE(flags, 6);
  m.writeUInt32LE(seq, 8);
  m.writeInt32LE(index, 16 + 4);
  return m;
}

/**
 * A kernel stand-in: `reply` maps each received message to the datagrams it queues. As the
 * kernel does, an ack (an NLMSG_ERROR with errno 0) is only sent when the request asks for one.
 */
class FakeKernel implements Transport {
  readonly rx = Buffer.alloc(1 << 16);
  readonly queue: (Buffer | Error)[] = [];
  readonly seen: Message[] = [];
  /** Requests per send, in order. */
  readonly sizes: number[] = [];
  /** A fake clock (ms) that each request advances by `cost(message)`. */
  now = 0;
  cost: (m: Message) => number = () => 1 / 1024;
  sends = 0;
  constructor(
    private readonly reply: (m: Message) => (Buffer | Error)[],
    /** Rearranges the replies to one send (regrouping, reordering, losses). */
    private readonly arrange: (replies: (Buffer | Error)[]) => (Buffer | Error)[] = (r) => r,
  ) {}
  send(buf: Buffer): void {
    this.sends++;
    const replies: (Buffer | Error)[] = [];
    const messages = parseMessages(Buffer.from(buf));
    this.sizes.push(messages.length);
    for (const m of messages) {
      this.now += this.cost(m);
      this.seen.push(m);
      const asked = (m.flags & C.NLM_F_ACK) !== 0;
      replies.push(...this.reply(m).filter((r) => asked || !isAck(r)));
    }
    this.queue.push(...this.arrange(replies));
  }
  receiveInto(wait: boolean): number {
    const next = this.queue.shift();
    if (next === undefined) {
      if (!wait) return 0;
      throw new NetlinkError({ errno: 11, operation: 'recv', kind: 'socket', target: 'fake' });
    }
    if (next instanceof Error) throw next;
    next.copy(this.rx);
    return next.length;
  }
  receive(wait: boolean): Buffer | undefined {
    const n = this.receiveInto(wait);
    return n ? Buffer.from(this.rx.subarray(0, n)) : undefined;
  }
  close(): void {}
}

const CODEC = { encode: encodeOperation, describe: describeOperation, renames: renamesLinks };

function neigh(i: number, dev: string | number = 5): Operation {
  return {
    kind: 'neighbour',
    action: 'replace',
    spec: { dev, address: `10.0.${i >> 8}.${i & 255}`, lladdr: '70:b3:d5:80:00:02' },
  };
}

t.test('replies are matched by sequence number, however they are grouped', async (t) => {
  // Replies come two per datagram, after a stale ack from nowhere; every seventh request fails
  // with the kernel's message; only the last request of each chunk is acked.
  const kernel = new FakeKernel(
    (m) => {
      const i = m.body[16 + 3] as number; // last octet of NDA_DST
      return [i % 7 === 0 ? ack(m.seq, 17, `entry ${i} exists`) : ack(m.seq)];
    },
    (replies) => {
      const out: Buffer[] = [ack(999999)];
      for (let i = 0; i < replies.length; i += 2) {
        out.push(Buffer.concat(replies.slice(i, i + 2) as Buffer[]));
      }
      return out;
    },
  );
  const engine = new Engine(kernel, { chunkSize: 100 });
  const results = await engine.batch(
    Array.from({ length: 250 }, (_, i) => neigh(i)),
    CODEC,
  );
  t.equal(results.length, 250);
  t.equal(
    kernel.sizes.reduce((a, b) => a + b, 0),
    250,
    'each request sent once',
  );
  t.ok(kernel.sends > 1, 'in several chunks');
  t.same(
    kernel.seen.filter((m) => m.flags & C.NLM_F_ACK).length,
    kernel.sends,
    'one ack asked for per chunk',
  );
  let failures = 0;
  results.forEach((r, i) => {
    if ((i & 255) % 7 === 0) {
      failures++;
      t.match(r, {
        code: 'EEXIST',
        kernelMessage: `entry ${i & 255} exists`,
        operation: 'replace',
        kind: 'neighbour',
        target: `10.0.${i >> 8}.${i & 255} lladdr 70:b3:d5:80:00:02 dev ifindex 5`,
      });
    } else if (r !== undefined) {
      t.fail(`request ${i}: ${r}`);
    }
  });
  t.equal(failures, 36);
});

t.test('chunks: one send each, sized to what the kernel takes per request', async (t) => {
  const kernel = new FakeKernel((m) => [ack(m.seq)]);
  const engine = new Engine(kernel, { chunkSize: 64, maxChunkMs: 2, clock: () => kernel.now });
  const results = await engine.batch(
    Array.from({ length: 200 }, (_, i) => neigh(i)),
    CODEC,
  );
  t.ok(results.every((r) => r === undefined));
  t.same(
    kernel.sizes,
    [16, 32, 64, 64, 24],
    'cheap requests: start small, double, cap at chunkSize',
  );

  // Costly requests (1 ms each): after the first chunk, two per chunk keeps each stretch near
  // 2 ms. Every batch starts small again.
  kernel.sizes.length = 0;
  kernel.cost = () => 1;
  await engine.batch(
    Array.from({ length: 40 }, (_, i) => neigh(i)),
    CODEC,
  );
  t.same(kernel.sizes, [16, ...Array(12).fill(2)], 'after one 16 ms send, two per chunk');

  // Costly, then cheap within one batch: the limit grows back twofold per chunk.
  kernel.sizes.length = 0;
  let n = 0;
  kernel.cost = () => (n++ < 20 ? 1 : 1 / 1024);
  await engine.batch(
    Array.from({ length: 80 }, (_, i) => neigh(i)),
    CODEC,
  );
  t.same(kernel.sizes, [16, 2, 2, 2, 4, 8, 16, 30]);
});

t.test(
  'link names: looked up once per batch, after earlier link changes are applied',
  async (t) => {
    const kernel = new FakeKernel((m) => {
      if (m.type === C.RTM_GETLINK) {
        const name = m.body.subarray(20, m.body.indexOf(0, 20)).toString();
        return name === 'br0' ? [linkReply(m.seq, 'br0', 42, 0)] : [ack(m.seq, 19)];
      }
      return [ack(m.seq)];
    });
    const engine = new Engine(kernel);
    const ops: Operation[] = [
      { kind: 'link', action: 'add', spec: { name: 'br0', kind: 'bridge' } },
      neigh(1, 'br0'),
      neigh(2, 'br0'),
      neigh(3, 'nope'),
      neigh(4, 9),
    ];
    const results = await engine.batch(ops, CODEC);
    t.same(
      kernel.seen.map((m) => m.type),
      [
        C.RTM_NEWLINK,
        C.RTM_GETLINK, // br0, once the link add is acknowledged
        C.RTM_GETLINK, // nope (no renames pending: no flush needed first)
        C.RTM_NEWNEIGH,
        C.RTM_NEWNEIGH,
        C.RTM_NEWNEIGH,
      ],
    );
    t.equal(
      kernel.seen[0]?.type,
      C.RTM_NEWLINK,
      'the link is created before its name is looked up',
    );
    t.equal(kernel.seen.filter((m) => m.type === C.RTM_GETLINK).length, 2, 'br0 once, nope once');
    const neighs = kernel.seen.filter((m) => m.type === C.RTM_NEWNEIGH);
    t.same(
      neighs.map((m) => m.body.readInt32LE(4)),
      [42, 42, 9],
      'resolved ifindex used',
    );
    t.equal(results[0], undefined);
    t.equal(results[1], undefined);
    t.match(results[3], {
      code: 'ENODEV',
      operation: 'replace',
      kind: 'neighbour',
      target: '10.0.0.3 lladdr 70:b3:d5:80:00:02 dev nope',
      kernelMessage: 'no link named "nope" (neighbour.dev)',
    });
    t.equal(results[4], undefined);
  },
);

t.test('dumps: retried when interrupted, EINTR when always interrupted', async (t) => {
  let attempts = 0;
  const kernel = new FakeKernel((m) => {
    attempts++;
    const intr = attempts === 1 ? C.NLM_F_DUMP_INTR : 0;
    return [
      Buffer.concat([linkReply(m.seq, 'a', 1), linkReply(m.seq, 'b', 2, C.NLM_F_MULTI | intr)]),
      done(m.seq, C.NLM_F_MULTI | intr),
    ];
  });
  const engine = new Engine(kernel);
  const links = await engine.dump((ctx) => encodeLinkList({}, ctx), decodeLink);
  t.same(
    links.map((l) => l.name),
    ['a', 'b'],
  );
  t.equal(attempts, 2, 'the interrupted dump was run again');

  const always = new FakeKernel((m) => [done(m.seq, C.NLM_F_MULTI | C.NLM_F_DUMP_INTR)]);
  const err = await new Engine(always, { dumpAttempts: 3 })
    .dump((ctx) => encodeLinkList({}, ctx), decodeLink)
    .catch((e) => e);
  t.match(err, { code: 'EINTR', operation: 'list', kind: 'link' });
  t.equal(always.seen.length, 3);
});

t.test('a malformed message mid-dump: typed error after the dump is drained', async (t) => {
  const kernel = new FakeKernel((m) => {
    if (m.type === C.RTM_NEWNEIGH) return [ack(m.seq)];
    const broken = linkReply(m.seq, 'b', 2);
    broken.writeUInt16LE(200, 16 + 16); // the first attribute claims 200 bytes
    return [linkReply(m.seq, 'a', 1), broken, linkReply(m.seq, 'c', 3), done(m.seq)];
  });
  const engine = new Engine(kernel);
  const err = await engine.dump((ctx) => encodeLinkList({}, ctx), decodeLink).catch((e) => e);
  t.type(err, NetlinkDecodeError);
  t.equal(kernel.queue.length, 0, 'the rest of the dump was read');
  t.same(await engine.batch([neigh(1)], CODEC), [undefined], 'the socket is still in step');
});

t.test(
  'lost replies (ENOBUFS) leave the requests without a reply in a stated unknown state',
  async (t) => {
    const overrun = new NetlinkError({
      errno: 105,
      operation: 'recv',
      kind: 'socket',
      target: 'fake',
    });
    // Requests 2 and 4 fail; the receive buffer overflows after the first error reply, so the
    // second one and the last request's ack are dropped.
    const failing = (m: Message) => [ack(m.seq, m.body[16 + 3] % 2 === 0 ? 22 : 0)];
    const kernel = new FakeKernel(failing, (replies) => [replies[0] as Buffer, overrun]);
    const engine = new Engine(kernel);
    const results = await engine.batch([neigh(1), neigh(2), neigh(3), neigh(4)], CODEC);
    t.match(results[1], { code: 'EINVAL' }, 'the error reply that did arrive counts');
    for (const i of [0, 2, 3]) {
      t.match(results[i], { code: 'ENOBUFS', operation: 'replace', kind: 'neighbour' });
      t.match((results[i] as NetlinkError).kernelMessage, /may or may not be applied/);
    }

    // When the last request's ack is among the replies read after the overrun, nothing was
    // lost: every request without an error reply succeeded.
    const late = new FakeKernel(failing, (replies) => [overrun, ...(replies as Buffer[])]);
    const all = await new Engine(late).batch([neigh(1), neigh(2), neigh(3), neigh(5)], CODEC);
    t.same(
      all.map((r) => (r === undefined ? 'ok' : (r as NetlinkError).code)),
      ['ok', 'EINVAL', 'ok', 'ok'],
    );
    t.same(await engine.batch([neigh(7)], CODEC), [undefined], 'the engine keeps working');
  },
);

t.test('one user of the socket at a time, in call order', async (t) => {
  let open = 0;
  const order: string[] = [];
  const kernel = new FakeKernel((m) => {
    if (m.type === C.RTM_GETLINK) {
      open++;
      order.push('dump');
      return [linkReply(m.seq, 'a', 1), linkReply(m.seq, 'b', 2), done(m.seq)];
    }
    order.push('neigh');
    return [ack(m.seq)];
  });
  const original = kernel.receiveInto.bind(kernel);
  kernel.receiveInto = (wait) => {
    const n = original(wait);
    if (kernel.rx.readUInt16LE(4) === C.NLMSG_DONE) open--;
    return n;
  };
  kernel.send = ((send) => (buf: Buffer) => {
    t.equal(open, 0, 'nothing is sent while a dump is unfinished');
    send(buf);
  })(kernel.send.bind(kernel));
  const engine = new Engine(kernel);
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) {
    calls.push(
      i % 2
        ? engine.dump((ctx) => encodeLinkList({}, ctx), decodeLink)
        : engine.batch([neigh(i)], CODEC),
    );
  }
  await Promise.all(calls);
  t.same(
    order,
    Array.from({ length: 20 }, (_, i) => (i % 2 ? 'dump' : 'neigh')),
  );
  // Encoders are pure: the same spec gives the same bytes apart from the sequence number.
  t.same(
    encoded((ctx) => encodeNeighbour('add', neigh(1).spec as never, ctx)),
    encoded((ctx) => encodeNeighbour('add', neigh(1).spec as never, ctx)),
  );
});
