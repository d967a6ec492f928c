// Message and attribute framing, control messages, and encode → decode round trips for every
// object kind (a NEW* request has the same layout as the kernel's reply), without a kernel.
import { formatIpBytes } from '@vnet/ip';
import t from 'tap';
import {
  MessageWriter,
  parseAttributes,
  parseMessages,
  setSeq,
  startMessage,
} from '../src/codec/attributes.js';
import * as C from '../src/codec/constants.js';
import { parseDoneMessage, parseErrorMessage } from '../src/codec/control.js';
import { parsePrefix } from '../src/codec/ip.js';
import { NetlinkDecodeError, NetlinkSpecError } from '../src/errors.js';
import { decodeAddress, encodeAddress } from '../src/objects/address.js';
import { decodeLink, encodeLinkAdd } from '../src/objects/link.js';
import {
  decodeFdb,
  decodeNeighbour,
  encodeFdb,
  encodeNeighbour,
} from '../src/objects/neighbour.js';
import { decodeNexthop, encodeNexthop } from '../src/objects/nexthop.js';
import { decodeRoute, encodeRoute } from '../src/objects/route.js';
import { decodeRule, encodeRule } from '../src/objects/rule.js';
import { encoded } from './helpers/encode.js';
import { seeded } from './helpers/random.js';

function one(buf: Buffer) {
  const [m] = parseMessages(buf);
  return m as NonNullable<typeof m>;
}

/** Appends a raw attribute to a finished message (what a newer kernel might send). */
function withExtra(message: Buffer, type: number, payload: Buffer): Buffer {
  const attr = Buffer.alloc(4 + ((payload.length + 3) & ~3));
  attr.writeUInt16LE(4 + payload.length, 0);
  attr.writeUInt16LE(type, 2);
  payload.copy(attr, 4);
  const out = Buffer.concat([message, attr]);
  out.writeUInt32LE(out.length, 0);
  return out;
}

t.test('attributes: lengths, 4-byte padding, growth, nesting, byte order', async (t) => {
  const r = seeded(t);
  const w = new MessageWriter(16).begin(C.RTM_NEWLINK, C.NLM_F_REQUEST);
  const fixed = w.fixed(16);
  w.setI32(fixed + 4, -2);
  const written: [number, Buffer][] = [];
  for (let i = 1; i <= 200; i++) {
    const payload = r.bytes(r.int(23));
    written.push([i, payload]);
    w.attr(i, payload);
    if (i % 5 === 0) {
      w.u8(1000 + i, i & 255);
      written.push([1000 + i, Buffer.from([i & 255])]);
    }
  }
  const outer = w.nest(500);
  w.u32(1, 0xdeadbeef);
  const inner = w.nest(2);
  w.u16be(3, 64000);
  w.string(4, 'vxlan');
  w.flag(5);
  w.end(inner);
  w.end(outer);
  t.equal(w.finish(), 0, 'the first message starts at 0');
  const msg = Buffer.from(w.bytes());
  setSeq(msg, 0x01020304);
  // Messages follow one another; a discarded one leaves nothing behind.
  const many = new MessageWriter(8);
  many.begin(1, 0).u32(1, 7).finish();
  many.begin(9, 0).string(3, 'never finished');
  many.discard();
  t.equal(many.begin(2, 0).string(3, 'x').finish(), 24, 'the second starts where the first ended');
  t.same(
    parseMessages(many.bytes()).map((m) => [m.type, m.seq, m.pid]),
    [
      [1, 0, 0],
      [2, 0, 0],
    ],
    'messages are contiguous; the discarded one is gone',
  );
  t.ok(
    many.buf.subarray(many.len).every((b) => b === 0),
    'bytes past the last message stay zero',
  );
  many.clear();
  t.equal(many.len, 0);
  t.ok(
    many.buf.every((b) => b === 0),
    'clear zeroes what was written',
  );
  t.equal(msg.length % 4, 0, 'message length is aligned');
  const m = one(msg);
  t.equal(m.seq, 0x01020304);
  t.equal(m.body.readInt32LE(4), -2, 'fixed header survives growth');
  const attrs = parseAttributes(m.body, 16);
  t.same(
    attrs.slice(0, written.length).map((a) => [a.type, a.data.toString('hex')]),
    written.map(([type, p]) => [type, p.toString('hex')]),
    `every attribute reads back (seed ${r.seed})`,
  );
  for (const a of attrs) t.equal((a.offset - 16) % 4, 0, 'attribute starts aligned');
  const nest = attrs[attrs.length - 1];
  t.equal(nest?.type, 500);
  t.equal(nest?.rawType, 500 | C.NLA_F_NESTED, 'NLA_F_NESTED set');
  const kids = parseAttributes(nest?.data as Buffer);
  t.equal(kids[0]?.data.readUInt32LE(0), 0xdeadbeef, 'u32 little-endian');
  const grand = parseAttributes(kids[1]?.data as Buffer);
  t.same(grand[0]?.data, Buffer.from([0xfa, 0x00]), 'u16be is network byte order');
  t.same(grand[1]?.data, Buffer.from('vxlan\0'), 'strings are NUL-terminated');
  t.equal(grand[2]?.data.length, 0, 'flag has no payload');
});

t.test('framing errors are NetlinkDecodeError with the offset', async (t) => {
  const w = startMessage(3, 0);
  w.finish();
  const good = Buffer.from(w.bytes());
  t.equal(parseMessages(Buffer.concat([good, good])).length, 2);
  const short = Buffer.from(good);
  short.writeUInt32LE(12, 0);
  t.throws(() => parseMessages(short), NetlinkDecodeError);
  const long = Buffer.from(good);
  long.writeUInt32LE(64, 0);
  t.throws(() => parseMessages(long), { name: 'NetlinkDecodeError', offset: 0 });
  t.throws(() => parseMessages(Buffer.concat([good, Buffer.alloc(5)])), {
    name: 'NetlinkDecodeError',
    offset: 16,
  });
  const attr = Buffer.from([8, 0, 1, 0, 0, 0]);
  t.throws(() => parseAttributes(attr), {
    name: 'NetlinkDecodeError',
    message: /length 8, 6 bytes left/,
  });
  t.same(
    parseAttributes(Buffer.from([5, 0, 1, 0, 9, 0, 0])).map((a) => a.data),
    [Buffer.from([9])],
    'trailing padding ignored',
  );
});

t.test('acks, errors with extended ack TLVs (capped and echoed), NLMSG_DONE', async (t) => {
  function errorMessage(error: number, flags: number, echoed: Buffer | null, tlvs: Buffer): Buffer {
    const request = Buffer.alloc(16);
    request.writeUInt32LE(echoed ? 16 + echoed.length : 40, 0);
    request.writeUInt32LE(77, 8);
    const body = Buffer.concat([Buffer.alloc(4), request, echoed ?? Buffer.alloc(0), tlvs]);
    body.writeInt32LE(error, 0);
    const head = Buffer.alloc(16);
    head.writeUInt32LE(16 + body.length, 0);
    head.writeUInt16LE(C.NLMSG_ERROR, 4);
    head.writeUInt16LE(flags, 6);
    head.writeUInt32LE(77, 8);
    return Buffer.concat([head, body]);
  }
  const text = Buffer.from('Nexthop has invalid gateway\0');
  const tlv = (type: number, payload: Buffer) => {
    const b = Buffer.alloc(4 + ((payload.length + 3) & ~3));
    b.writeUInt16LE(4 + payload.length, 0);
    b.writeUInt16LE(type, 2);
    payload.copy(b, 4);
    return b;
  };
  const offs = Buffer.alloc(4);
  offs.writeUInt32LE(44);
  const tlvs = Buffer.concat([tlv(C.NLMSGERR_ATTR_MSG, text), tlv(C.NLMSGERR_ATTR_OFFS, offs)]);
  t.same(parseErrorMessage(one(errorMessage(0, C.NLM_F_CAPPED, null, Buffer.alloc(0)))), {
    errno: 0,
    requestSeq: 77,
  });
  t.same(
    parseErrorMessage(one(errorMessage(-101, C.NLM_F_CAPPED | C.NLM_F_ACK_TLVS, null, tlvs))),
    {
      errno: 101,
      requestSeq: 77,
      kernelMessage: 'Nexthop has invalid gateway',
      attributeOffset: 44,
    },
  );
  t.same(
    parseErrorMessage(one(errorMessage(-22, C.NLM_F_ACK_TLVS, Buffer.alloc(24, 0xaa), tlvs))),
    {
      errno: 22,
      requestSeq: 77,
      kernelMessage: 'Nexthop has invalid gateway',
      attributeOffset: 44,
    },
    'TLVs after an echoed request',
  );
  t.throws(
    () =>
      parseErrorMessage(
        one(Buffer.from([20, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
      ),
    NetlinkDecodeError,
  );
  const done = Buffer.alloc(20);
  done.writeUInt32LE(20, 0);
  done.writeUInt16LE(C.NLMSG_DONE, 4);
  done.writeInt32LE(-16, 16);
  t.same(parseDoneMessage(one(done)), { errno: 16 });
});

t.test('encode → decode round trips; unknown attributes are kept', async (t) => {
  const extra = Buffer.from([1, 2, 3]);
  const link = decodeLink(
    one(
      withExtra(
        encoded((ctx) =>
          encodeLinkAdd(
            {
              name: 'vtep1024',
              kind: 'vxlan',
              mtu: 1450,
              address: '70:b3:d5:80:00:01',
              up: true,
              vxlan: {
                vni: 1024,
                port: 64000,
                local: '192.168.9.1',
                dev: 'u0',
                learning: false,
                ttl: 9,
              },
            },
            ctx,
          ),
        ),
        200,
        extra,
      ),
    ),
  );
  t.match(link, {
    name: 'vtep1024',
    mtu: 1450,
    address: '70:b3:d5:80:00:01',
    up: true,
    kind: 'vxlan',
    vxlan: { vni: 1024, port: 64000, local: '192.168.9.1', link: 7, learning: false, ttl: 9 },
  });
  t.same(
    link.unknown.map((a) => [a.type, a.data]),
    [[200, extra]],
  );

  const br = decodeLink(
    one(
      encoded((ctx) =>
        encodeLinkAdd({ name: 'm-x', kind: 'bridge', bridge: { stp: true, priority: 7 } }, ctx),
      ),
    ),
  );
  t.match(br.bridge, { stpState: 1, priority: 7 });
  const veth = decodeLink(
    one(encoded((ctx) => encodeLinkAdd({ name: 'a', kind: 'veth', peer: { name: 'b' } }, ctx))),
  );
  t.equal(veth.linkInfo?.data?.[0]?.type, C.VETH_INFO_PEER, 'undecoded kind data kept raw');

  const addr = decodeAddress(
    one(
      withExtra(
        encoded((ctx) => encodeAddress('add', { dev: 5, address: 'fd00::1/64', label: 'x' }, ctx)),
        99,
        extra,
      ),
    ),
  );
  t.match(addr, { family: 6, index: 5, address: 'fd00::1', prefixLength: 64, label: 'x' });
  t.same(
    addr.unknown.map((a) => a.type),
    [99],
  );

  const route = decodeRoute(
    one(
      encoded((ctx) =>
        encodeRoute(
          'replace',
          {
            dst: '9.0.1.0/24',
            via: '44.128.0.2',
            dev: 'vtep1024',
            onlink: true,
            table: 1000,
            metric: 5,
          },
          ctx,
        ),
      ),
    ),
  );
  t.match(route, {
    dst: '9.0.1.0/24',
    via: '44.128.0.2',
    dev: 7,
    onlink: true,
    table: 1000,
    metric: 5,
    protocol: 3,
    type: 1,
    scope: 0,
  });
  t.equal(
    decodeRoute(one(encoded((ctx) => encodeRoute('add', { dst: 'default', via: 'fd00::1' }, ctx))))
      .dst,
    '::/0',
  );

  const rule = decodeRule(
    one(
      encoded((ctx) =>
        encodeRule(
          'add',
          { priority: 10, src: '10.0.0.0/8', table: 300, invert: true, fwmark: 3 },
          ctx,
        ),
      ),
    ),
  );
  t.match(rule, {
    priority: 10,
    src: '10.0.0.0/8',
    table: 300,
    invert: true,
    fwmark: 3,
    action: 1,
  });

  const neigh = decodeNeighbour(
    one(
      withExtra(
        encoded((ctx) =>
          encodeNeighbour(
            'replace',
            { dev: 3, address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' },
            ctx,
          ),
        ),
        120,
        extra,
      ),
    ),
  );
  t.match(neigh, {
    family: 4,
    index: 3,
    address: '44.128.0.2',
    lladdr: '70:b3:d5:80:00:02',
    state: C.NUD_PERMANENT,
  });
  t.same(
    neigh.unknown.map((a) => a.type),
    [120],
  );

  const fdb = decodeFdb(
    one(
      encoded((ctx) =>
        encodeFdb(
          'append',
          { dev: 3, lladdr: '00:00:00:00:00:00', dst: '192.168.9.2', port: 64000, vni: 1024 },
          ctx,
        ),
      ),
    ),
  );
  t.match(fdb, {
    index: 3,
    lladdr: '00:00:00:00:00:00',
    dst: '192.168.9.2',
    port: 64000,
    vni: 1024,
    self: true,
    state: C.NUD_NOARP | C.NUD_PERMANENT,
  });

  const nexthop = decodeNexthop(
    one(
      withExtra(
        encoded((ctx) =>
          encodeNexthop(
            'replace',
            { id: 7, via: '44.128.0.2', dev: 3, onlink: true, protocol: 4 },
            ctx,
          ),
        ),
        77,
        extra,
      ),
    ),
  );
  t.match(nexthop, {
    id: 7,
    family: 4,
    via: '44.128.0.2',
    dev: 3,
    onlink: true,
    protocol: 4,
    blackhole: false,
    fdb: false,
  });
  t.same(
    nexthop.unknown.map((a) => a.type),
    [77],
  );
  const v6 = decodeNexthop(
    one(encoded((ctx) => encodeNexthop('add', { id: 8, via: 'fd00::2', dev: 3 }, ctx))),
  );
  t.match(v6, { family: 6, via: 'fd00::2' });
  const group = decodeNexthop(
    one(
      encoded((ctx) =>
        encodeNexthop('add', { id: 9, group: [{ id: 7 }, { id: 8, weight: 256 }] }, ctx),
      ),
    ),
  );
  t.same(group.group, [
    { id: 7, weight: 1 },
    { id: 8, weight: 256 },
  ]);
  t.equal(group.family, undefined, 'groups are AF_UNSPEC');
  t.match(
    decodeNexthop(one(encoded((ctx) => encodeNexthop('add', { id: 10, blackhole: true }, ctx)))),
    {
      id: 10,
      family: 4,
      blackhole: true,
    },
  );
  const del = one(
    encoded((ctx) => encodeNexthop('delete', { id: 7, via: '44.128.0.2', dev: 3 }, ctx)),
  );
  t.equal(del.body.length, 8 + 8, 'a delete is the id alone');
  t.match(
    decodeRoute(
      one(encoded((ctx) => encodeRoute('replace', { dst: '10.9.0.0/16', nhid: 7 }, ctx))),
    ),
    { dst: '10.9.0.0/16', nhid: 7, scope: 0, via: undefined },
  );
});

t.test('decoders refuse what is not theirs with a typed error', async (t) => {
  const neigh = encoded((ctx) =>
    encodeNeighbour('add', { dev: 3, address: '44.128.0.2', lladdr: '70:b3:d5:80:00:02' }, ctx),
  );
  t.throws(() => decodeFdb(one(neigh)), { name: 'NetlinkDecodeError', message: /AF_BRIDGE/ });
  const badMtu = withExtra(
    encoded((ctx) => encodeLinkAdd({ name: 'x', kind: 'bridge' }, ctx)),
    C.IFLA_MTU,
    Buffer.from([1, 2]),
  );
  t.throws(() => decodeLink(one(badMtu)), {
    name: 'NetlinkDecodeError',
    message: /needs 4 bytes, has 2/,
  });
  const empty = startMessage(24, 0);
  empty.finish();
  t.throws(() => decodeRoute(one(empty.bytes())), {
    name: 'NetlinkDecodeError',
    message: /rtmsg/,
  });
});

t.test('route destinations: the IPv4 fast path agrees with parsePrefix', async (t) => {
  const r = seeded(t);
  const octet = () =>
    String(r.pick([0, 1, 9, 10, 99, 100, 199, 255, 256, 300, r.int(256), r.int(1000)]));
  const texts = ['0.0.0.0/0', '10.0.0.1', '10.0.0.0/08', '10.0.0.0/', '1.2.3.4/32', '1.2.3/24'];
  for (let i = 0; i < 3000; i++) {
    const quad = [octet(), octet(), octet(), octet()].slice(0, r.pick([3, 4, 4, 4])).join('.');
    const len = r.pick(['', '/', '/0', '/7', '/24', '/32', '/33', '/08', `/${r.int(40)}`, '/1x']);
    texts.push(`${r.pick(['', '0', ' '])}${quad}${len}`);
  }
  let checked = 0;
  for (const dst of texts) {
    let expected: string | undefined;
    try {
      const p = parsePrefix(dst, 'route.dst');
      if (p.family === 4) expected = `${formatIpBytes(p.bytes)}/${p.length}`;
    } catch {
      expected = undefined;
    }
    let got: string | undefined;
    try {
      got = decodeRoute(one(encoded((ctx) => encodeRoute('add', { dst }, ctx)))).dst;
    } catch (e) {
      if (!(e instanceof NetlinkSpecError) || e.field !== 'route.dst') throw e;
    }
    if (got !== expected) t.fail(`${JSON.stringify(dst)}: ${got} !== ${expected}`);
    else checked++;
  }
  t.equal(checked, texts.length, `seed ${r.seed}`);
});
