// The query path, called directly: every answer is decoded by our parser and, independently, by
// dns2's codec.
import dns2 from 'dns2';
import t from 'tap';
import {
  type AnswerContext,
  answerQuery,
  createAnswerContext,
  DROP,
  FORWARD,
} from '../src/answer.js';
import { COUNTER_COUNT, DROPPED, MALFORMED } from '../src/counters.js';
import { RecordStore } from '../src/store.js';
import { parseMessage, soaMinimum } from '../src/wire/message.js';
import type { NameEntry } from '../src/zone/entry.js';
import { buildQuery, type QuerySpec } from './helpers/packets.js';

const { Packet } = dns2;

function setup(opts: { recursion?: boolean } = {}): { store: RecordStore; ctx: AnswerContext } {
  const store = new RecordStore({ serial: 41 });
  store.upsertTask({
    id: 'web.1',
    name: '/prod/web',
    framework: 'marathon',
    agentIp: '10.0.0.1',
    containerIps: ['9.0.1.2', 'fd01:b::2'],
    ports: [{ name: 'http', containerPort: 80 }],
  });
  store.upsertTask({
    id: 'web.2',
    name: '/prod/web',
    framework: 'marathon',
    agentIp: '10.0.0.2',
    containerIps: ['9.0.2.2'],
    ports: [{ name: 'http', containerPort: 80, hostPort: 31000 }],
  });
  const many = Array.from({ length: 100 }, (_, i) => `9.1.${i >> 8}.${i & 255}`);
  store.upsertTask({
    id: 'big.1',
    name: 'big',
    framework: 'marathon',
    agentIp: '10.0.0.3',
    containerIps: many,
  });
  store.flush();
  const ctx = createAnswerContext(store.table as Map<string, NameEntry>, store.zoneWires(), {
    maxUdp: 1232,
    recursion: opts.recursion ?? true,
    counters: new Float64Array(COUNTER_COUNT),
  });
  return { store, ctx };
}

function ask(ctx: AnswerContext, q: Buffer | QuerySpec, tcp = false): { n: number; msg: Buffer } {
  const query = Buffer.isBuffer(q) ? q : buildQuery(q);
  const out = Buffer.alloc(tcp ? 65535 : 1232);
  const n = answerQuery(query, query.length, out, tcp, ctx);
  return { n, msg: Buffer.from(out.subarray(0, Math.max(0, n))) };
}

t.test('an A answer: authoritative, TTL 5, question echoed as asked', async (t) => {
  const { ctx } = setup();
  const { msg } = ask(ctx, {
    id: 0xbeef,
    name: 'WeB-PrOd.marathon.AGENTIP.dcos',
    type: 1,
    cd: true,
  });
  const m = parseMessage(msg);
  t.equal(m.id, 0xbeef);
  t.ok(m.qr && m.aa && m.rd && m.ra && m.cd, 'QR AA RD RA, CD copied');
  t.equal(m.rcode, 0);
  t.equal(msg.toString('latin1', 13, 21), 'WeB-PrOd', 'the 0x20 spelling is kept');
  const p = Packet.parse(msg);
  t.same(p.answers.map((a) => [a.name, a.ttl, a.address]).sort(), [
    ['WeB-PrOd.marathon.AGENTIP.dcos', 5, '10.0.0.1'],
    ['WeB-PrOd.marathon.AGENTIP.dcos', 5, '10.0.0.2'],
  ]);
  t.equal(m.authority.length, 0);
  t.equal(m.opt, undefined, 'no OPT without EDNS in the query');
});

t.test('AAAA, SRV with glue, ANY', async (t) => {
  const { ctx } = setup();
  const aaaa = Packet.parse(
    ask(ctx, { name: 'web-prod.marathon.containerip.dcos.thisdcos.directory', type: 28 }).msg,
  );
  t.same(
    aaaa.answers.map((a) => a.address),
    ['fd01:b::2'],
  );
  const srvMsg = ask(ctx, { name: '_http._web-prod._tcp.marathon.dcos', type: 33 }).msg;
  const srv = Packet.parse(srvMsg);
  t.same(
    srv.answers.map((a) => `${a.priority} ${a.weight} ${a.port} ${a.target}`),
    [
      '0 1 80 web-1.web-prod.marathon.containerip.dcos',
      '0 1 31000 web-2.web-prod.marathon.agentip.dcos',
    ],
  );
  t.same(
    srv.additionals.map((a) => `${a.name} ${a.address}`).sort(),
    [
      'web-1.web-prod.marathon.containerip.dcos 9.0.1.2',
      'web-1.web-prod.marathon.containerip.dcos fd01:b::2',
      'web-2.web-prod.marathon.agentip.dcos 10.0.0.2',
    ],
    'glue owners point at the targets',
  );
  t.equal(parseMessage(srvMsg).additional.length, 3);
  const any = parseMessage(ask(ctx, { name: 'web-prod.marathon.containerip.dcos', type: 255 }).msg);
  t.same(any.answers.map((a) => a.type).sort(), [1, 1, 28]);
});

t.test('NXDOMAIN and NOERROR/no-data carry the SOA of the right zone', async (t) => {
  const { ctx } = setup();
  for (const [name, type, rcode] of [
    ['nope.marathon.agentip.dcos', 1, 3],
    ['nope.dcos.thisdcos.directory', 1, 3],
    ['web-prod.marathon.agentip.dcos', 28, 0],
    ['marathon.agentip.dcos', 1, 0],
    ['_tcp.marathon.dcos.thisdcos.directory', 33, 0],
  ] as const) {
    const msg = ask(ctx, { name, type }).msg;
    const m = parseMessage(msg);
    t.equal(m.rcode, rcode, `${name} type ${type}: rcode ${rcode}`);
    t.ok(m.aa);
    t.equal(m.answers.length, 0);
    t.equal(m.authority.length, 1);
    const soa = m.authority[0];
    t.equal(soa.type, 6);
    t.equal(
      soa.name,
      name.endsWith('thisdcos.directory') ? 'dcos.thisdcos.directory' : 'dcos',
      'owner is the zone apex',
    );
    t.equal(soa.ttl, 5);
    t.equal(soaMinimum(msg, soa), 1, 'negative TTL 1 s');
  }
});

t.test('zone apex: SOA and NS', async (t) => {
  const { ctx, store } = setup();
  const soa = Packet.parse(ask(ctx, { name: 'dcos', type: 6 }).msg);
  t.equal(soa.answers[0].primary, 'ns.spartan');
  t.equal(soa.answers[0].admin, 'support.mesosphere.com');
  t.equal(soa.answers[0].serial, store.serial);
  const ns = Packet.parse(ask(ctx, { name: 'dcos.thisdcos.directory', type: 2 }).msg);
  t.same(
    ns.answers.map((a) => [a.ns, a.ttl]),
    [['ns.spartan', 3600]],
  );
});

t.test('EDNS: OPT echoed, sizes honoured, truncation', async (t) => {
  const { ctx } = setup();
  const e = parseMessage(
    ask(ctx, { name: 'web-prod.marathon.agentip.dcos', edns: { size: 4096, do: true } }).msg,
  );
  t.equal(e.opt?.udpSize, 1232, 'we advertise our size');
  t.equal(e.opt?.dnssecOk, true, 'DO copied');
  // 100 A records: 1600+ bytes.
  const plain = parseMessage(ask(ctx, { name: 'big.marathon.containerip.dcos' }).msg);
  t.ok(plain.tc, 'no EDNS: 512 bytes, TC');
  t.equal(plain.answers.length, 0, 'a truncated reply carries no partial RRset');
  t.ok(
    parseMessage(ask(ctx, { name: 'big.marathon.containerip.dcos', edns: { size: 4096 } }).msg).tc,
    'over our 1232 cap: TC',
  );
  const small = setup().store;
  small.upsertTask({
    id: 'mid.1',
    name: 'mid',
    framework: 'marathon',
    agentIp: '10.0.0.3',
    containerIps: Array.from({ length: 40 }, (_, i) => `9.2.0.${i}`),
  });
  small.flush();
  const ctx2 = createAnswerContext(small.table as Map<string, NameEntry>, small.zoneWires(), {
    maxUdp: 1232,
    recursion: true,
    counters: new Float64Array(COUNTER_COUNT),
  });
  t.ok(
    parseMessage(ask(ctx2, { name: 'mid.marathon.containerip.dcos' }).msg).tc,
    '40 records do not fit 512',
  );
  t.notOk(
    parseMessage(ask(ctx2, { name: 'mid.marathon.containerip.dcos', edns: { size: 1232 } }).msg).tc,
    'but fit 1232',
  );
  t.ok(
    parseMessage(ask(ctx2, { name: 'mid.marathon.containerip.dcos', edns: { size: 600 } }).msg).tc,
    'and not 600',
  );
  t.ok(
    parseMessage(ask(ctx2, { name: 'mid.marathon.containerip.dcos', edns: { size: 100 } }).msg).tc,
    'sizes below 512 count as 512',
  );
  const tcp = parseMessage(ask(ctx, { name: 'big.marathon.containerip.dcos' }, true).msg);
  t.notOk(tcp.tc);
  t.equal(tcp.answers.length, 100, 'TCP carries everything');
  const bad = ask(ctx, { name: 'web-prod.marathon.agentip.dcos', edns: { version: 1 } }).msg;
  const bv = parseMessage(bad);
  t.equal(bv.rcode, 16, 'EDNS version 1: BADVERS');
  t.equal(bv.opt?.version, 0);
});

t.test('round robin over addresses', async (t) => {
  const { ctx } = setup();
  const firsts = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const p = Packet.parse(ask(ctx, { name: 'web-prod.marathon.containerip.dcos' }).msg);
    t.equal(p.answers.length, 2);
    firsts.add(p.answers[0].address as string);
  }
  t.same([...firsts].sort(), ['9.0.1.2', '9.0.2.2'], 'each address comes first in turn');
});

t.test('REFUSED, NOTIMP, FORWARD', async (t) => {
  const { ctx } = setup();
  t.equal(
    parseMessage(ask(ctx, { name: 'web-prod.marathon.agentip.dcos', qclass: 3 }).msg).rcode,
    5,
    'class CH in our zone',
  );
  t.equal(parseMessage(ask(ctx, { name: 'dcos', type: 252 }).msg).rcode, 5, 'AXFR');
  const notimp = buildQuery({ name: 'dcos' });
  notimp[2] |= 5 << 3; // UPDATE
  const ni = parseMessage(ask(ctx, notimp).msg);
  t.equal(ni.rcode, 4);
  t.equal(ni.opcode, 5, 'opcode echoed');
  t.equal(ask(ctx, { name: 'www.example.com' }).n, FORWARD);
  t.equal(ctx.info.key, '\x03www\x07example\x03com\x00');
  t.equal(ask(ctx, { name: 'thisdcos.directory' }).n, FORWARD, 'the parent of a zone is forwarded');
  // A label that contains "\x04dcos" is not the zone "dcos".
  const tricky = buildQuery({ name: 'x' });
  const q = Buffer.concat([
    tricky.subarray(0, 12),
    Buffer.from([6, 0x61, 4, 0x64, 0x63, 0x6f, 0x73, 0]),
    tricky.subarray(tricky.length - 4),
  ]);
  t.equal(ask(ctx, q).n, FORWARD, 'zone match is on label boundaries');
  const { ctx: noRec } = setup({ recursion: false });
  const r = parseMessage(ask(noRec, { name: 'www.example.com' }).msg);
  t.equal(r.rcode, 5, 'without upstreams: REFUSED');
  t.notOk(r.ra, 'and RA clear');
});

t.test('malformed queries: FORMERR or dropped, counted', async (t) => {
  const { ctx } = setup();
  const c = ctx.counters;
  const good = buildQuery({ name: 'a.dcos', edns: {} });
  const formerr = (q: Buffer, why: string) => {
    const before = c[MALFORMED];
    const { n, msg } = ask(ctx, q);
    t.equal(n, 12, `${why}: header-only reply`);
    t.equal(msg[3] & 0xf, 1, `${why}: FORMERR`);
    t.equal(msg.readUInt16BE(0), q.readUInt16BE(0), `${why}: same id`);
    t.equal(c[MALFORMED], before + 1, `${why}: counted`);
  };
  const set = (b: Buffer, i: number, v: number) => {
    const x = Buffer.from(b);
    x[i] = v;
    return x;
  };
  formerr(set(good, 5, 0), 'no question');
  formerr(set(good, 5, 2), 'two questions');
  formerr(set(good, 7, 1), 'an answer in a query');
  formerr(good.subarray(0, 15), 'question cut short');
  formerr(good.subarray(0, good.length - 3), 'OPT cut short');
  formerr(set(good, 12, 0x41), 'label type 0x40');
  formerr(set(good, 12, 0xc0), 'pointer in the question');
  formerr(set(good, 11, 2), 'ARCOUNT larger than the records');
  formerr(set(good, 11, 255), 'huge ARCOUNT');
  formerr(set(good, good.length - 1, 9), 'OPT option past the end');
  const twoOpts = Buffer.concat([set(good, 11, 2), good.subarray(good.length - 11)]);
  formerr(twoOpts, 'two OPT records');
  const optOwner = Buffer.concat([
    set(good, 11, 1).subarray(0, good.length - 11),
    Buffer.from([1, 97, 0]),
    good.subarray(good.length - 10),
  ]);
  formerr(optOwner, 'OPT not owned by the root');
  const dropped = c[DROPPED];
  t.equal(ask(ctx, Buffer.alloc(11)).n, DROP, 'shorter than a header: dropped');
  t.equal(ask(ctx, set(good, 2, 0x81)).n, DROP, 'a response: dropped');
  t.equal(c[DROPPED], dropped + 2);
  // A well-formed non-OPT additional record (e.g. a TSIG-like record with a compressed owner) is skipped.
  const withRr = Buffer.concat([
    set(buildQuery({ name: 'web-prod.marathon.agentip.dcos' }), 11, 1),
    Buffer.from([0xc0, 12, 0, 250, 0, 255, 0, 0, 0, 0, 0, 1, 7]),
  ]);
  t.equal(parseMessage(ask(ctx, withRr).msg).rcode, 0, 'other additional records are skipped');
});
