import { mulberry32, testSeed } from '@vnet/testkit';
import t from 'tap';
import { parseMessage, soaMinimum } from '../src/wire/message.js';
import { encodeName, keyToName, nameKey, parentKey, readName, skipName } from '../src/wire/name.js';
import { canonicalIp, formatIp, ipBytes } from '../src/zone/ip.js';
import { int } from './helpers/random.js';

t.test('names: encode, keys, parents', async (t) => {
  t.same([...encodeName('a.bc')], [1, 97, 2, 98, 99, 0]);
  t.same([...encodeName('a.bc.')], [1, 97, 2, 98, 99, 0], 'trailing dot optional');
  t.same([...encodeName('.')], [0], 'root');
  t.throws(() => encodeName('a..b'), /empty label/);
  t.throws(() => encodeName(`${'x'.repeat(64)}.dcos`), /longer than 63/);
  t.throws(() => encodeName(Array(60).fill('abcd').join('.')), /longer than 255/);
  t.equal(nameKey('Foo.DCOS'), '\x03foo\x04dcos\x00', 'keys are lower-cased wire names');
  t.equal(keyToName(nameKey('a.b.c')), 'a.b.c');
  t.equal(parentKey(nameKey('a.b.c')), nameKey('b.c'));
  t.equal(parentKey('\x00'), undefined);
});

t.test('readName follows pointers backwards only', async (t) => {
  // "dcos" at 0, then "x" + pointer to 0 at 6.
  const buf = Buffer.from([4, 100, 99, 111, 115, 0, 1, 120, 0xc0, 0, 0xc0, 6]);
  t.same(readName(buf, 6, buf.length), { name: 'x.dcos', next: 10 });
  t.same(readName(buf, 10, buf.length), { name: 'x.dcos', next: 12 }, 'pointer to a pointer');
  t.equal(skipName(buf, 6, buf.length), 10);
  const loop = Buffer.from([0xc0, 0]);
  t.equal(readName(loop, 0, 2), undefined, 'a pointer to itself is refused');
  const fwd = Buffer.from([0xc0, 2, 1, 97, 0]);
  t.equal(readName(fwd, 0, fwd.length), undefined, 'a forward pointer is refused');
  const twoStep = Buffer.from([1, 97, 0xc0, 4, 1, 98, 0xc0, 0]);
  t.equal(
    readName(twoStep, 4, twoStep.length),
    undefined,
    'a loop through two pointers is refused',
  );
  t.equal(readName(Buffer.from([5, 97]), 0, 2), undefined, 'label past the end');
  t.equal(readName(Buffer.from([0x40, 0]), 0, 2), undefined, 'extended label types refused');
  t.equal(skipName(Buffer.from([3, 97]), 0, 2), -1);
  // A name made of many pointers that each add a label must still stop at 255 bytes.
  const parts: number[] = [];
  for (let i = 0; i < 120; i++)
    parts.push(
      ...(i === 0 ? [1, 97, 0] : [1, 97, 0xc0 | (((i - 1) * 4) >> 8), ((i - 1) * 4) & 0xff]),
    );
  const long = Buffer.from(parts);
  t.equal(
    readName(long, (119 - 1) * 4 + 3, long.length),
    undefined,
    'expanded names longer than 255 are refused',
  );
});

t.test('IP text <-> bytes round trips (seeded)', async (t) => {
  t.same([...ipBytes('10.1.2.3')], [10, 1, 2, 3]);
  t.equal(canonicalIp('FD01:000B:0:0:0:0:0:2'), 'fd01:b::2');
  t.equal(canonicalIp('::ffff:1.2.3.4'), '::ffff:102:304');
  t.equal(canonicalIp('1:0:0:1:0:0:0:1'), '1:0:0:1::1', 'longest zero run compressed');
  t.equal(canonicalIp('1:0:1:0:1:0:1:0'), '1:0:1:0:1:0:1:0', 'single zero groups stay');
  t.throws(() => ipBytes('1.2.3'), /not an IPv4 or IPv6 address/);
  const seed = testSeed();
  t.comment(`seed ${seed} (VNET_SEED=${seed} to replay)`);
  const r = mulberry32(seed);
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(16);
    for (let j = 0; j < 16; j++) b[j] = r() < 0.5 ? 0 : int(r, 256);
    const text = formatIp(b);
    // WHATWG URL parsing canonicalises IPv6 per RFC 5952 too: an independent check.
    const viaUrl = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    if (viaUrl !== text || Buffer.compare(Buffer.from(ipBytes(text)), Buffer.from(b)) !== 0) {
      t.fail(
        `round trip of ${Buffer.from(b).toString('hex')}: ${text} vs ${viaUrl} (seed ${seed})`,
      );
      return;
    }
  }
  t.pass('2000 random IPv6 addresses');
});

t.test('parseMessage walks sections and finds TTLs and OPT', async (t) => {
  // Response: question a.b A; answer a.b A 1.2.3.4 (pointer owner); authority SOA; OPT.
  const q = Buffer.from([1, 97, 1, 98, 0, 0, 1, 0, 1]);
  const header = Buffer.from([0, 7, 0x81, 0x80, 0, 1, 0, 1, 0, 1, 0, 1]);
  const ans = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]);
  const soaRd = Buffer.from([
    1, 110, 0xc0, 14, 1, 104, 0xc0, 14, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 30,
  ]);
  const soa = Buffer.concat([
    Buffer.from([0xc0, 14, 0, 6, 0, 1, 0, 0, 0, 90, 0, soaRd.length]),
    soaRd,
  ]);
  const opt = Buffer.from([0, 0, 41, 4, 0, 1, 0, 0x80, 0, 0, 0]);
  const msg = Buffer.concat([header, q, ans, soa, opt]);
  const m = parseMessage(msg);
  t.equal(m.id, 7);
  t.ok(m.qr && m.rd && m.ra);
  t.equal(m.question?.name, 'a.b');
  t.equal(m.answers[0].ttl, 60);
  t.equal(m.answers[0].name, 'a.b');
  t.equal(msg.readUInt32BE(m.answers[0].ttlOffset), 60);
  t.equal(m.authority[0].name, 'b');
  t.equal(soaMinimum(msg, m.authority[0]), 30);
  t.equal(m.opt?.udpSize, 1024);
  t.equal(m.opt?.dnssecOk, true);
  t.equal(m.rcode, 16, 'extended RCODE bits from the OPT TTL');
  t.equal(m.additional.length, 0, 'OPT is reported apart');
  t.throws(() => parseMessage(msg.subarray(0, msg.length - 1)), /runs past the end/);
  t.throws(() => parseMessage(Buffer.alloc(5)), /shorter than a header/);
  const twoOpts = Buffer.concat([
    header.map((v, i) => (i === 11 ? 2 : v)) as Buffer,
    q,
    ans,
    soa,
    opt,
    opt,
  ]);
  t.throws(() => parseMessage(twoOpts), /OPT/);
});
