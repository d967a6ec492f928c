// Seeded fuzzing of the packet path: random bytes, and valid queries broken in every way we could
// think of (bit flips, cuts, inflated counts, compression pointers and loops, bad label lengths).
// The query path must never throw, and every reply must be a well-formed DNS message for the
// query it answers. The upstream-answer parser gets the same inputs. Then a live server takes a
// flood of such packets over UDP and TCP and must still answer dig.
// Replay a failure with VNET_SEED=<seed>; NAVSTAR_FUZZ_N sets the number of inputs.

import dgram from 'node:dgram';
import { mulberry32, testSeed } from '@vnet/testkit';
import t from 'tap';
import { answerQuery, createAnswerContext, DROP, FORWARD } from '../src/answer.js';
import { COUNTER_COUNT } from '../src/counters.js';
import { ResponseCache, storeAnswer } from '../src/forward/cache.js';
import { servfail } from '../src/forward/render.js';
import { NavstarServer } from '../src/server/server.js';
import { RecordStore } from '../src/store.js';
import { MessageError, parseMessage } from '../src/wire/message.js';
import type { NameEntry } from '../src/zone/entry.js';
import { answers, dig } from './helpers/dig.js';
import { fuzzInput as input } from './helpers/fuzz-input.js';
import { tcpExchange } from './helpers/packets.js';

const N = Number(process.env.NAVSTAR_FUZZ_N ?? 150_000);

function populatedStore(): RecordStore {
  const store = new RecordStore();
  for (let i = 0; i < 50; i++) {
    store.upsertTask({
      id: `t${i}.x`,
      name: i % 2 ? `/g${i % 5}/app${i % 7}` : `svc${i % 9}`,
      framework: i % 3 ? 'marathon' : 'kafka',
      agentIp: `10.0.0.${i + 1}`,
      containerIps: i % 4 ? [`9.0.0.${i + 1}`] : [`9.0.0.${i + 1}`, `fd01::${i + 1}`],
      ports:
        i % 2 ? [{ name: 'http', containerPort: 80, hostPort: i % 3 ? 31000 + i : undefined }] : [],
    });
  }
  store.upsertTask({
    id: 'big',
    name: 'big',
    framework: 'marathon',
    agentIp: '10.0.0.99',
    containerIps: Array.from({ length: 80 }, (_, i) => `9.1.0.${i}`),
  });
  store.setMasters(['10.0.0.200']);
  store.setLeader('10.0.0.200');
  store.flush();
  return store;
}

t.test(`fuzz: ${N} inputs through the query path and the message parser`, async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (VNET_SEED=${seed} to replay)`);
  const r = mulberry32(seed);
  const store = populatedStore();
  const counters = new Float64Array(COUNTER_COUNT);
  const ctx = createAnswerContext(store.table as Map<string, NameEntry>, store.zoneWires(), {
    maxUdp: 1232,
    recursion: true,
    counters,
  });
  const udpOut = Buffer.alloc(1232);
  const tcpOut = Buffer.alloc(65535);
  const outcomes = { drop: 0, forward: 0, reply: 0, formerr: 0, parsed: 0, rejected: 0 };
  const cacheOpts = new ResponseCache().options;
  const fail = (q: Buffer, why: string) => {
    t.fail(`${why} (seed ${seed}) input ${q.toString('hex')}`);
  };
  for (let i = 0; i < N; i++) {
    const q = input(r);
    const tcp = r() < 0.2;
    const out = tcp ? tcpOut : udpOut;
    let n: number;
    try {
      n = answerQuery(q, q.length, out, tcp, ctx);
    } catch (e) {
      fail(q, `answerQuery threw ${(e as Error).stack}`);
      return;
    }
    if (n === DROP) outcomes.drop++;
    else if (n === FORWARD) {
      outcomes.forward++;
      const info = ctx.info;
      if (info.questionEnd > q.length || info.questionEnd < 17) {
        fail(q, `bad questionEnd ${info.questionEnd}`);
        return;
      }
      // The forwarder's own replies for this query must be well-formed too.
      const sf = parseMessage(servfail(q, { ...info }, 1232));
      if (sf.rcode !== 2 || sf.id !== q.readUInt16BE(0)) {
        fail(q, 'bad SERVFAIL reply');
        return;
      }
    } else {
      outcomes.reply++;
      const reply = out.subarray(0, n);
      let m: ReturnType<typeof parseMessage>;
      try {
        m = parseMessage(reply);
      } catch (e) {
        fail(q, `reply does not parse: ${(e as Error).message}; reply ${reply.toString('hex')}`);
        return;
      }
      const udpLimit = m.opt ? 1232 : 512;
      if (!m.qr || m.id !== q.readUInt16BE(0) || m.trailing !== 0 || (!tcp && n > udpLimit)) {
        fail(q, `bad reply header/size: qr ${m.qr} id ${m.id} trailing ${m.trailing} size ${n}`);
        return;
      }
      if (m.rcode === 1 || (m.rcode === 4 && n === 12)) {
        // FORMERR, and NOTIMP for other opcodes: header only.
        if (m.rcode === 1) outcomes.formerr++;
        if (n !== 12) {
          fail(q, 'FORMERR with content');
          return;
        }
      } else if (
        m.question === undefined ||
        reply.compare(q, 12, m.question.end, 12, m.question.end) !== 0
      ) {
        fail(q, 'the question is not echoed byte for byte');
        return;
      }
    }
    // The same bytes as an upstream answer: parsed or refused with a MessageError, nothing else.
    try {
      const m = parseMessage(q);
      outcomes.parsed++;
      storeAnswer(q, m, 0, cacheOpts);
    } catch (e) {
      if (!(e instanceof MessageError)) {
        fail(q, `parseMessage threw ${(e as Error).stack}`);
        return;
      }
      outcomes.rejected++;
    }
  }
  t.comment(JSON.stringify(outcomes));
  t.ok(
    outcomes.drop > 0 && outcomes.forward > 0 && outcomes.reply > 0 && outcomes.formerr > 0,
    'every outcome was exercised',
  );
  t.ok(outcomes.parsed > 0 && outcomes.rejected > 0);
  t.pass(`${N} inputs, no exception, every reply well-formed`);
});

t.test('fuzz: a live server under a flood of bad packets keeps answering', async (t) => {
  const seed = testSeed() ^ 0x5eed;
  t.comment(`seed ${seed} (VNET_SEED=${seed ^ 0x5eed} to replay)`);
  const r = mulberry32(seed);
  const server = await NavstarServer.start({
    store: populatedStore(),
    listen: [{ address: '127.0.0.1', port: 0 }],
    onError: (e) => t.comment(`server error: ${e.stack}`),
  });
  t.teardown(() => server.close());
  const port = server.addresses[0].port;
  const sock = dgram.createSocket('udp4');
  t.teardown(() => new Promise<void>((res) => sock.close(() => res())));
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  sock.on('message', () => {});
  for (let burst = 0; burst < 40; burst++) {
    await Promise.all(
      Array.from(
        { length: 250 },
        () => new Promise<void>((res) => sock.send(input(r), port, '127.0.0.1', () => res())),
      ),
    );
    await new Promise((res) => setImmediate(res));
  }
  // TCP: batches of bad messages on their own connections (the server may close them).
  for (let c = 0; c < 20; c++) {
    await tcpExchange(
      port,
      Array.from({ length: 20 }, () => input(r).subarray(0, 65535)),
      20,
      500,
    ).catch(() => []);
  }
  t.same(answers(await dig(port, ['leader.dcos'])), ['10.0.0.200'], 'still answering over UDP');
  t.same(answers(await dig(port, ['+tcp', 'leader.dcos'])), ['10.0.0.200'], 'and over TCP');
  const m = server.metrics();
  t.ok(m.malformed > 0, `malformed packets counted (${m.malformed})`);
  t.equal(m.internalErrors, 0, 'no exception on the packet path');
});
