// Address text <-> bytes as this library uses them (@vnet/ip's parsers and printers, and the
// error-raising wrappers of codec/ip.ts) against glibc's own inet_pton/inet_ntop (what iproute2
// uses), on fixed vectors and seeded random inputs.
import { formatIpBytes as formatIp, formatMac, parseIpBytes } from '@vnet/ip';
import koffi from 'koffi';
import t from 'tap';
import { parseIp, parseMac, parsePrefix } from '../src/codec/ip.js';
import { NetlinkSpecError } from '../src/errors.js';
import { seeded } from './helpers/random.js';

function tryParseIp(text: string): Buffer | undefined {
  const bytes = parseIpBytes(text);
  return bytes && Buffer.from(bytes);
}

const libc = koffi.load('libc.so.6');
const inetPton = libc.func('int inet_pton(int af, const char *src, _Out_ uint8_t *dst)');
const inetNtop = libc.func(
  'const char *inet_ntop(int af, const void *src, _Out_ char *dst, uint32_t size)',
);

function pton(text: string): Buffer | undefined {
  const out = Buffer.alloc(16);
  if (inetPton(2, text, out) === 1) return out.subarray(0, 4);
  if (inetPton(10, text, out) === 1) return out;
  return undefined;
}

function ntop(bytes: Buffer): string {
  return inetNtop(bytes.length === 4 ? 2 : 10, bytes, Buffer.alloc(64), 64) as string;
}

t.test('fixed vectors', async (t) => {
  for (const text of [
    '0.0.0.0',
    '255.255.255.255',
    '::',
    '::1',
    '1::',
    'fd00::1',
    '2001:db8::ff00:42:8329',
    '::ffff:192.0.2.128',
    '::192.0.2.128',
    '1:0:0:1:0:0:0:1',
    '1:0:0:0:1:0:0:1',
    '0:0:1::',
    'fe80::1:0:0:0',
  ]) {
    const ours = tryParseIp(text);
    t.same(ours, pton(text), `parse ${text}`);
    t.equal(formatIp(ours as Buffer), ntop(ours as Buffer), `format ${text}`);
  }
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '256.1.1.1',
    '1.2.3.-4',
    ':::',
    '1::2::3',
    '12345::',
    'g::1',
    '1.2.3.4::',
    ' 1.2.3.4',
  ]) {
    t.equal(tryParseIp(bad), undefined, `reject ${JSON.stringify(bad)}`);
    t.equal(pton(bad), undefined, `glibc rejects ${JSON.stringify(bad)} too`);
  }
});

t.test('random addresses: format equals inet_ntop, parse equals inet_pton', async (t) => {
  const r = seeded(t);
  let mismatches = 0;
  for (let i = 0; i < 20000 && mismatches < 5; i++) {
    let bytes: Buffer;
    if (r.next() < 0.3) {
      bytes = r.bytes(4);
    } else {
      // Runs of zero words and the IPv4-mapped/compatible shapes exercise '::' placement.
      bytes = Buffer.alloc(16);
      for (let w = 0; w < 8; w++) if (r.next() < 0.45) bytes.writeUInt16BE(r.int(65536), w * 2);
      if (r.next() < 0.1) {
        bytes.fill(0, 0, 10);
        bytes.writeUInt16BE(r.next() < 0.5 ? 0xffff : 0, 10);
      }
    }
    const text = formatIp(bytes);
    if (text !== ntop(bytes) || !bytes.equals(tryParseIp(text) ?? Buffer.alloc(0))) {
      mismatches++;
      t.fail(`seed ${r.seed}: ${bytes.toString('hex')} → ${text}, glibc ${ntop(bytes)}`);
    }
    // Mangle the text and require the same verdict as glibc.
    const chars = [...text];
    const at = r.int(chars.length + 1);
    const op = r.int(3);
    if (op === 0) chars.splice(at, 1);
    else if (op === 1) chars.splice(at, 0, r.pick([':', '.', '0', 'f', 'g', '9', '::']));
    else if (chars.length > at) chars[at] = r.pick([':', '.', 'a', '1', '%']);
    const mangled = chars.join('');
    const ours = tryParseIp(mangled);
    const theirs = pton(mangled);
    if (
      !(ours === undefined ? theirs === undefined : theirs !== undefined && ours.equals(theirs))
    ) {
      mismatches++;
      t.fail(
        `seed ${r.seed}: parse ${JSON.stringify(mangled)}: ours ${ours?.toString('hex')}, glibc ${theirs?.toString('hex')}`,
      );
    }
  }
  t.equal(mismatches, 0, `seed ${r.seed}`);
});

function specError(fn: () => unknown): NetlinkSpecError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NetlinkSpecError) return e;
    throw e;
  }
  return undefined;
}

t.test('prefixes and link-layer addresses', async (t) => {
  t.match(parsePrefix('10.1.0.0/16', 'x'), { family: 4, length: 16 });
  t.match(parsePrefix('fd00::/8', 'x'), { family: 6, length: 8 });
  t.match(parsePrefix('10.1.0.1', 'x'), { family: 4, length: 32 });
  for (const bad of ['10.1.0.0/33', '10.1.0.0/', '10.1.0.0/08', 'fd00::/129', 'default', 42]) {
    t.throws(() => parsePrefix(bad, 'route.dst'), NetlinkSpecError, String(bad));
  }
  t.match(
    specError(() => parseIp('fd00::1', 'f', 4)),
    { field: 'f', message: /not an IPv4 address/ },
  );
  t.same([...parseMac('70:B3:d5:80:0:2', 'm')], [0x70, 0xb3, 0xd5, 0x80, 0, 2]);
  t.equal(formatMac(Buffer.from([0x70, 0xb3, 0xd5, 0x80, 0, 2])), '70:b3:d5:80:00:02');
  t.equal(parseMac('00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33', 'm').length, 20);
  for (const bad of ['', '70', '70:b3:', ':70:b3', '70:b3:d5:80:00:0g', '700:b3', 'a::b', 7]) {
    t.match(
      specError(() => parseMac(bad, 'lladdr')),
      { field: 'lladdr' },
      String(bad),
    );
  }
});

t.test('the wrappers name the field and say what is wrong, word for word', async (t) => {
  const cases: [() => unknown, string, string][] = [
    [() => parseIp(42, 'a'), 'a', 'expected an IP address string'],
    [() => parseIp('1.2.3', 'a'), 'a', "'1.2.3' is not an IPv4 or IPv6 address"],
    [() => parseIp('fd00::1', 'a', 4), 'a', "'fd00::1' is not an IPv4 address"],
    [() => parseIp('10.0.0.1', 'a', 6), 'a', "'10.0.0.1' is not an IPv6 address"],
    [() => parseIp('fe80::1%eth0', 'a'), 'a', "'fe80::1%eth0' is not an IPv4 or IPv6 address"],
    [() => parsePrefix(null, 'p'), 'p', "expected 'address/length'"],
    [() => parsePrefix('default', 'p'), 'p', "'default' is ambiguous here; use 0.0.0.0/0 or ::/0"],
    [() => parsePrefix('10.0.0/8', 'p'), 'p', "'10.0.0/8' is not an IPv4 or IPv6 prefix"],
    [() => parsePrefix('10.0.0.0/33', 'p'), 'p', "'10.0.0.0/33' has a prefix length outside 0..32"],
    [
      () => parsePrefix('fd00::/0128', 'p'),
      'p',
      "'fd00::/0128' has a prefix length outside 0..128",
    ],
    [() => parseMac('70:b3:', 'm'), 'm', '"70:b3:" is not a link-layer address'],
    [() => parseMac(7, 'm'), 'm', '7 is not a link-layer address'],
  ];
  for (const [fn, field, message] of cases) {
    const e = specError(fn);
    t.equal(e?.field, field, message);
    t.equal(e?.message, `invalid ${field}: ${message}`);
  }
  t.same([...parsePrefix('fd00::5/64', 'p').bytes], [0xfd, 0, ...Array(13).fill(0), 5]);
});
