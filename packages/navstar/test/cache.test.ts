import t from 'tap';
import { newQueryInfo, type QueryInfo } from '../src/answer.js';
import { ResponseCache, storeAnswer } from '../src/forward/cache.js';
import { renderAnswer, replyLimit } from '../src/forward/render.js';
import { parseMessage } from '../src/wire/message.js';
import { encodeName, nameKey } from '../src/wire/name.js';
import { buildQuery } from './helpers/packets.js';

interface Resp {
  rcode?: number;
  answers?: Array<{ ttl: number; ip: number[] }>;
  soa?: { ttl: number; min: number };
  opt?: boolean;
  tc?: boolean;
}

/** An upstream answer for www.example.test A, built byte by byte. */
function response(r: Resp): Buffer {
  const name = encodeName('www.example.test');
  const answers = r.answers ?? [];
  const h = Buffer.from([
    0,
    9,
    0x81 | (r.tc ? 2 : 0),
    0x80 | (r.rcode ?? 0),
    0,
    1,
    0,
    answers.length,
    0,
    r.soa ? 1 : 0,
    0,
    r.opt ? 1 : 0,
  ]);
  const parts = [h, name, Buffer.from([0, 1, 0, 1])];
  for (const a of answers) {
    const rr = Buffer.alloc(16);
    rr.set([0xc0, 12, 0, 1, 0, 1], 0);
    rr.writeUInt32BE(a.ttl, 6);
    rr.set([0, 4, ...a.ip], 10);
    parts.push(rr);
  }
  if (r.soa) {
    // Owner: pointer to "example.test" inside the question (offset 12 + 4).
    const rd = Buffer.concat([
      Buffer.from([2, 110, 115, 0xc0, 16, 1, 104, 0xc0, 16]),
      Buffer.alloc(20),
    ]);
    rd.writeUInt32BE(r.soa.min, rd.length - 4);
    const rr = Buffer.alloc(12);
    rr.set([0xc0, 16, 0, 6, 0, 1], 0);
    rr.writeUInt32BE(r.soa.ttl, 6);
    rr.writeUInt16BE(rd.length, 10);
    parts.push(rr, rd);
  }
  if (r.opt) parts.push(Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

function clientQuery(edns: boolean): { q: Buffer; info: QueryInfo } {
  const q = buildQuery({
    id: 0x4242,
    name: 'WWW.example.test',
    edns: edns ? { size: 1232 } : undefined,
  });
  const info = newQueryInfo();
  info.key = nameKey('www.example.test');
  info.qtype = 1;
  info.qclass = 1;
  info.questionEnd = 12 + encodeName('www.example.test').length + 4;
  info.optOffset = edns ? info.questionEnd : -1;
  info.udpSize = edns ? 1232 : 512;
  return { q, info };
}

t.test('positive answers age in the cache and expire with their smallest TTL', async (t) => {
  let now = 1_000_000;
  const cache = new ResponseCache({}, () => now);
  const msg = response({
    answers: [
      { ttl: 60, ip: [192, 0, 2, 1] },
      { ttl: 30, ip: [192, 0, 2, 2] },
    ],
    opt: true,
  });
  const stored = storeAnswer(msg, parseMessage(msg), now, cache.options);
  t.equal(stored?.ttl, 30, 'the smallest TTL');
  cache.set('k', stored as NonNullable<typeof stored>);
  now += 10_500;
  const hit = cache.get('k');
  t.equal(hit?.age, 10);
  const { q, info } = clientQuery(true);
  const reply = renderAnswer(
    hit!.answer,
    hit!.age,
    q,
    info,
    replyLimit(info, false, 1232),
    1232,
    true,
  );
  const m = parseMessage(reply);
  t.equal(m.id, 0x4242, 'client id');
  t.equal(reply.toString('latin1', 13, 16), 'WWW', "client's spelling");
  t.same(
    m.answers.map((a) => a.ttl),
    [50, 20],
    'TTLs aged by 10 s',
  );
  t.notOk(m.aa, 'a cached answer is not authoritative');
  t.equal(m.opt?.udpSize, 1232, 'our OPT, not the upstream one');
  t.equal(m.additional.length, 0);
  const { q: q2, info: info2 } = clientQuery(false);
  t.equal(
    parseMessage(renderAnswer(hit!.answer, hit!.age, q2, info2, 512, 1232, true)).opt,
    undefined,
    'no OPT for a client without EDNS',
  );
  now += 20_000;
  t.equal(cache.get('k'), undefined, 'gone after 30 s');
  t.equal(cache.size, 0);
});

t.test(
  'negative answers live for min(SOA TTL, MINIMUM); unusable answers are not cached',
  async (t) => {
    const o = new ResponseCache().options;
    const nx = response({ rcode: 3, soa: { ttl: 90, min: 30 } });
    t.equal(storeAnswer(nx, parseMessage(nx), 0, o)?.ttl, 30, 'NXDOMAIN: MINIMUM');
    const nodata = response({ soa: { ttl: 20, min: 300 } });
    t.equal(storeAnswer(nodata, parseMessage(nodata), 0, o)?.ttl, 20, 'no data: the SOA TTL');
    const bare = response({ rcode: 3 });
    t.equal(
      storeAnswer(bare, parseMessage(bare), 0, o)?.ttl,
      0,
      'NXDOMAIN without SOA: not cached',
    );
    const tc = response({ tc: true, answers: [{ ttl: 60, ip: [1, 2, 3, 4] }] });
    t.equal(storeAnswer(tc, parseMessage(tc), 0, o)?.ttl, 0, 'truncated: not cached');
    const sf = response({ rcode: 2 });
    t.equal(storeAnswer(sf, parseMessage(sf), 0, o)?.ttl, 0, 'SERVFAIL: not cached');
    const long = response({ answers: [{ ttl: 999_999, ip: [1, 2, 3, 4] }] });
    t.equal(storeAnswer(long, parseMessage(long), 0, o)?.ttl, 3600, 'capped at maxTtl');
    const zero = response({ answers: [{ ttl: 0, ip: [1, 2, 3, 4] }] });
    t.equal(storeAnswer(zero, parseMessage(zero), 0, o)?.ttl, 0, 'TTL 0: not cached');
    const cache = new ResponseCache();
    cache.set(
      'z',
      storeAnswer(zero, parseMessage(zero), 0, o) as NonNullable<ReturnType<typeof storeAnswer>>,
    );
    t.equal(cache.size, 0);
  },
);

t.test('least recently used entries leave first', async (t) => {
  const cache = new ResponseCache({ maxEntries: 2 }, () => 0);
  const msg = response({ answers: [{ ttl: 60, ip: [1, 2, 3, 4] }] });
  const a = storeAnswer(msg, parseMessage(msg), 0, cache.options) as NonNullable<
    ReturnType<typeof storeAnswer>
  >;
  cache.set('a', a);
  cache.set('b', a);
  cache.get('a');
  cache.set('c', a);
  t.ok(cache.get('a'), 'a was used recently');
  t.equal(cache.get('b'), undefined, 'b was evicted');
  t.ok(cache.get('c'));
});

t.test('an answer too large for the client is sent truncated', async (t) => {
  const answers = Array.from({ length: 40 }, (_, i) => ({ ttl: 60, ip: [10, 0, 0, i] }));
  const msg = response({ answers });
  const a = storeAnswer(msg, parseMessage(msg), 0, new ResponseCache().options) as NonNullable<
    ReturnType<typeof storeAnswer>
  >;
  const { q, info } = clientQuery(false);
  const r = parseMessage(renderAnswer(a, 0, q, info, replyLimit(info, false, 1232), 1232, false));
  t.ok(r.tc);
  t.equal(r.answers.length, 0);
  t.equal(
    parseMessage(renderAnswer(a, 0, q, info, replyLimit(info, true, 1232), 1232, false)).answers
      .length,
    40,
    'TCP: all',
  );
});
