import { testSeeds } from '@vnet/testkit';
import t from 'tap';
import { seededRandom } from '../src/random.js';
import { DropError, Envelope, PROTOCOL_VERSION } from '../src/wire/envelope.js';
import { Keyring } from '../src/wire/keyring.js';
import {
  buildBody,
  decodeMessage,
  encodeMessage,
  MessageType,
  type PacketMessage,
  pack,
  parseBody,
  parseStreamMessage,
  type StreamMessage,
} from '../src/wire/messages.js';
import { withSeed } from './helpers/seed.js';

/** The DropError reason `fn` throws with (or 'none'). */
function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof DropError ? err.reason : `not a DropError: ${err}`;
  }
  return 'none';
}

const packets: PacketMessage[] = [
  { type: MessageType.ping, seq: 7, target: 'b' },
  { type: MessageType.indirectPing, seq: 8, target: 'c', targetAddr: '10.0.0.3:7946', nack: true },
  { type: MessageType.ack, seq: 9 },
  { type: MessageType.nack, seq: 10 },
  {
    type: MessageType.alive,
    name: 'a',
    addr: '10.0.0.1:7946',
    incarnation: 3,
    boot: 1_700_000_000_123,
    metaVersion: 2,
    meta: { role: 'agent', zone: 'z1' },
  },
  { type: MessageType.suspect, name: 'b', boot: 5, incarnation: 1, from: 'a' },
  { type: MessageType.dead, name: 'b', boot: 5, incarnation: 1, from: 'b' },
  { type: MessageType.entry, entry: ['k', null, 0, 1, 'a', false, 'v'] },
];

const streams: StreamMessage[] = [
  {
    type: MessageType.syncRequest,
    from: 'a',
    join: true,
    members: [
      {
        name: 'a',
        addr: '10.0.0.1:7946',
        incarnation: 1,
        state: 'alive',
        boot: 1,
        metaVersion: 0,
        meta: null,
      },
      {
        name: 'b',
        addr: '[fd00::2]:7946',
        incarnation: 4,
        state: 'left',
        boot: 2,
        metaVersion: 1,
        meta: 'x',
      },
    ],
    digest: new Uint8Array([1, 2, 3]),
  },
  {
    type: MessageType.syncResponse,
    from: 'b',
    members: [],
    buckets: [1, 63],
    hashes: [['k', 2 ** 47 + 5]],
  },
  { type: MessageType.syncData, entries: [['k', null, 0, 1, 'a', true, null]], wants: ['x'] },
  { type: MessageType.syncDone, entries: [] },
  { type: MessageType.entryPush, from: 'a', entries: [['k', null, 0, 1, 'a', false, 1]] },
];

t.test('every packet message round-trips through a datagram body', async (t) => {
  const body = buildBody(pack('a'), packets.map(encodeMessage));
  const parsed = parseBody(body);
  t.equal(parsed.sender, 'a');
  t.equal(parsed.unknown, 0);
  t.same(parsed.messages, packets);
});

t.test('bodies with more than 15 messages use a larger array header', async (t) => {
  const many = Array.from({ length: 40 }, (_, i) =>
    encodeMessage({ type: MessageType.ack, seq: i }),
  );
  const parsed = parseBody(buildBody(pack('n'), many));
  t.equal(parsed.messages.length, 40);
  t.same(parsed.messages[39], { type: MessageType.ack, seq: 39 });
});

t.test('every stream message round-trips', async (t) => {
  for (const m of streams) {
    const back = parseStreamMessage(encodeMessage(m));
    t.same(back, m, `type ${m.type}`);
  }
});

t.test('unknown message types are skipped and counted, not fatal', async (t) => {
  const body = buildBody(pack('a'), [
    pack([99, 'future']),
    encodeMessage(packets[2] as PacketMessage),
  ]);
  const parsed = parseBody(body);
  t.equal(parsed.unknown, 1);
  t.equal(parsed.messages.length, 1);
  t.equal(decodeMessage([120]), null);
});

t.test('malformed messages are rejected with a DropError naming the field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [[MessageType.ping, -1, 'b'], /ping seq/],
    [[MessageType.ping, 1, ''], /ping target/],
    [[MessageType.alive, 'a', 'addr', 1.5, 0, 0, null], /alive incarnation/],
    [[MessageType.suspect, 'a', 1, 1], /suspect\/dead sender/],
    [[MessageType.syncRequest, 'a', true, [], 'not-bytes'], /sync digest/],
    [[MessageType.syncResponse, 'a', [], [], ['k']], /sync hashes/],
    [
      [MessageType.syncRequest, 'a', true, [['n', 'a', 0, 9, 0, 0, null]], new Uint8Array()],
      /member state/,
    ],
    ['nope', /message/],
    [['x'], /message type/],
  ];
  for (const [v, re] of cases) {
    t.throws(() => decodeMessage(v), re, JSON.stringify(v));
    try {
      decodeMessage(v);
    } catch (err) {
      t.ok(err instanceof DropError && err.reason === 'decode');
    }
  }
});

t.test('envelope: version byte first, plain or sealed', async (t) => {
  const plain = new Envelope();
  const sealed = plain.seal(new Uint8Array([1, 2, 3]));
  t.equal(sealed[0], PROTOCOL_VERSION);
  t.same([...plain.open(sealed)], [1, 2, 3]);
  const wrongVersion = Uint8Array.from(sealed);
  wrongVersion[0] = PROTOCOL_VERSION + 1;
  t.equal(
    reasonOf(() => plain.open(wrongVersion)),
    'version',
  );
  t.equal(
    reasonOf(() => plain.open(new Uint8Array([PROTOCOL_VERSION]))),
    'short',
  );
  t.equal(
    reasonOf(() => plain.open(new Uint8Array([PROTOCOL_VERSION, 9, 0]))),
    'envelope',
  );

  const ring = new Keyring([Keyring.generateKey()]);
  const enc = new Envelope(ring);
  t.equal(enc.overhead, 2 + 28);
  const box = enc.seal(new Uint8Array([4, 5]));
  t.equal(box.length, 2 + 28 + 2);
  t.same([...enc.open(box)], [4, 5]);
  t.equal(
    reasonOf(() => plain.open(box)),
    'auth',
    'no keyring: sealed packets are refused',
  );
  t.equal(
    reasonOf(() => enc.open(sealed)),
    'plaintext',
    'keyring: plain packets are refused',
  );
  t.same([...new Envelope(ring, true).open(sealed)], [1, 2, 3], 'unless plaintext is accepted');
  const other = new Envelope(new Keyring([Keyring.generateKey()]));
  t.equal(
    reasonOf(() => other.open(box)),
    'auth',
    'another key does not authenticate',
  );
  const tampered = Uint8Array.from(box);
  tampered[10] = (tampered[10] as number) ^ 1;
  t.equal(
    reasonOf(() => enc.open(tampered)),
    'auth',
    'a flipped bit does not authenticate',
  );
  const header = Uint8Array.from(box);
  header[1] = 0;
  t.equal(
    reasonOf(() => enc.open(header)),
    'plaintext',
    'the envelope byte is authenticated too',
  );
});

t.test('garbage never escapes as anything but a DropError', async (t) => {
  const valid = new Envelope().seal(buildBody(pack('a'), packets.map(encodeMessage)));
  for (const seed of testSeeds(1, 3)) {
    await withSeed(t, seed, 'fuzz', (st) => {
      const rnd = seededRandom(seed);
      const env = new Envelope();
      let other = 0;
      for (let i = 0; i < 3000; i++) {
        let data: Uint8Array;
        if (i % 2 === 0) {
          data = Uint8Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256));
          data[0] = PROTOCOL_VERSION;
          if (data.length > 1) data[1] = 0;
        } else {
          data = Uint8Array.from(valid);
          for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
            data[2 + Math.floor(rnd() * (data.length - 2))] = Math.floor(rnd() * 256);
          }
        }
        try {
          parseBody(env.open(data));
        } catch (err) {
          if (!(err instanceof DropError)) other++;
        }
      }
      st.equal(other, 0, 'only DropErrors');
    });
  }
});
