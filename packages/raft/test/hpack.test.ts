// HPACK decoding against RFC 7541's own examples (Appendix C), bad input, and round trips of the
// encoder; node:http2 (nghttp2's encoder) is the interop partner in h2-server.test.ts.
import t from 'tap';
import { encodeHeaders, HpackDecoder, HpackError } from '../src/transport/hpack.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const requests = [
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ],
];

t.test('RFC 7541 C.3: requests without Huffman coding, one connection', async (t) => {
  const d = new HpackDecoder();
  t.same(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), requests[0]);
  t.same(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')), requests[1]);
  t.same(
    d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65')),
    requests[2],
  );
});

t.test('RFC 7541 C.4: the same requests with Huffman coding', async (t) => {
  const d = new HpackDecoder();
  t.same(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), requests[0]);
  t.same(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), requests[1]);
  t.same(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), requests[2]);
});

t.test('table size updates evict entries; a too large update is refused', async (t) => {
  const d = new HpackDecoder(4096);
  d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')); // adds :authority (index 62)
  t.same(d.decode(hex('be')), [[':authority', 'www.example.com']]);
  // Size update to 0 (001 00000) empties the table: index 62 no longer exists.
  t.throws(() => d.decode(hex('20 be')), /index 62 is beyond the tables/);
  t.throws(() => new HpackDecoder(4096).decode(hex('3fe21f')), /exceeds the limit 4096/);
  t.throws(() => new HpackDecoder().decode(hex('82 20')), /after a header field/);
});

t.test('malformed blocks fail with an HpackError naming the problem', async (t) => {
  const bad: [string, RegExp][] = [
    ['80', /index 0/],
    ['ff ff ff ff ff 0f', /integer too large/],
    ['ff', /truncated integer/],
    ['40 05 61', /truncated string/],
    ['00 81 ff', /invalid Huffman padding|EOS/],
    ['00 83 ff ff ff', /EOS symbol|invalid Huffman padding/],
    ['c8', /beyond the tables/],
  ];
  for (const [block, re] of bad) {
    t.throws(() => new HpackDecoder().decode(hex(block)), HpackError, block);
    t.throws(() => new HpackDecoder().decode(hex(block)), re, block);
  }
});

t.test('encodeHeaders round-trips through the decoder, long values included', async (t) => {
  const headers: [string, string][] = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-message', 'x'.repeat(300)],
    ['leader-address', '127.0.0.1:7000'],
  ];
  t.same(new HpackDecoder().decode(encodeHeaders(headers)), headers);
});
