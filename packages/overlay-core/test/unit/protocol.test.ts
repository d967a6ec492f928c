// The one wire contract (src/protocol/): gossip records and allocations parsed once at the edge
// (good ones typed, anything malformed refused whole, naming the field), inputs quoted short in
// errors, the error table, the halves of a block, and the generated types in step with the .proto.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { testSeed } from '@vnet/testkit';
import fc from 'fast-check';
import t from 'tap';
import { quote } from '../../src/input.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { allocationMessage } from '../../src/master/render.js';
import { formatCidr, parseCidr } from '../../src/net/cidr.js';
import { halves, mesosGateway, overlayOfBridge } from '../../src/protocol/allocation.js';
import { ERRORS, grpcStatusOf, MasterError, RETRY_ELSEWHERE } from '../../src/protocol/errors.js';
import { parseAllocation } from '../../src/protocol/node-allocation.js';
import { parseOverlayReports } from '../../src/protocol/reports.js';
import { parseRecord, recordJson } from '../../src/protocol/vtep-record.js';
import { dcosDefault } from '../helpers/configs.js';

const good = {
  underlay: '10.0.0.2',
  vtepIp: '44.128.0.2/20',
  vtepIp6: 'fd01:a::2/64',
  mac: '70:b3:d5:80:00:02',
  blocks: { dcos: { subnet: '9.0.1.0/24', subnet6: 'fd01:b:0:0:1::/80' } },
};

t.test(
  'gossip records: a good one is parsed into values, anything malformed is refused',
  async (t) => {
    const r = parseRecord(good)!;
    t.equal(r.underlay.value, 0x0a000002);
    t.equal(r.vtep.text, '44.128.0.2');
    t.equal(r.vtep6?.text, 'fd01:a::2');
    t.same(recordJson(r, 20, 64), good);
    const other = parseRecord({ ...good, blocks: { dcos: { subnet6: 'FD01:b::1:0:0:0/80' } } });
    t.equal(other?.blocks.get('dcos')?.block6?.text, 'fd01:b:0:0:1::/80', 'canonical text, once');
    t.equal(parseRecord({ ...good, mac: '70:B3:D5:80:00:02' })?.mac, '70:b3:d5:80:00:02');
    const bad: unknown[] = [
      null,
      'x',
      [],
      { ...good, underlay: '10.0.0' },
      { ...good, underlay: 'nope' },
      { ...good, vtepIp: '44.128.0.2x' },
      { ...good, vtepIp: 'fd01::2/64' },
      { ...good, vtepIp: '44.128.0.2/33' },
      { ...good, vtepIp6: '44.128.0.2/20' },
      { ...good, mac: '70:B3:D5:80:00:02:00' },
      { ...good, mac: '01:00:5e:00:00:01' },
      { ...good, mac: '00:00:00:00:00:00' },
      { ...good, blocks: null },
      { ...good, blocks: { dcos: { subnet: '9.0.1.1/24' } } },
      { ...good, blocks: { dcos: { subnet6: '9.0.1.0/24' } } },
      { ...good, blocks: { dcos: 7 } },
    ];
    for (const b of bad) t.equal(parseRecord(b), undefined, JSON.stringify(b));
  },
);

t.test('gossip records: random mutations of a record never throw (seeded)', async (t) => {
  const seed = testSeed();
  const text = JSON.stringify(good);
  const mutated = fc.tuple(fc.nat(text.length - 1), fc.string({ maxLength: 4 }), fc.nat(3));
  const result = fc.check(
    fc.property(fc.array(mutated, { maxLength: 6 }), (edits) => {
      let s = text;
      for (const [at, insert, cut] of edits) s = s.slice(0, at) + insert + s.slice(at + cut);
      let v: unknown;
      try {
        v = JSON.parse(s);
      } catch {
        return true;
      }
      const r = parseRecord(v);
      return r === undefined || typeof r.underlay.value === 'number';
    }),
    { seed, numRuns: 3000 },
  );
  t.notOk(result.failed, `seed ${seed}: ${fc.defaultReportMessage(result) ?? ''}`);
});

function allocation() {
  const ipam = new Ipam({
    ...dcosDefault(),
    vtep_subnet6: 'fd01:a::/64',
    overlays: [
      { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24, subnet6: 'fd01:b::/64', prefix6: 80 },
    ],
  });
  ipam.register('10.0.0.1');
  return allocationMessage(ipam, '10.0.0.1', 3);
}

t.test('an allocation is parsed once; a malformed one is refused naming the field', async (t) => {
  const a = parseAllocation(allocation());
  t.equal(a.index, 3);
  t.same(
    [a.vtep?.ip.text, a.vtep?.prefix, a.vtep?.ip6?.text, a.vtep?.prefix6, a.vtep?.mac],
    ['44.128.0.1', 20, 'fd01:a::1', 64, '70:b3:d5:80:00:01'],
  );
  t.same(
    a.overlays.map((o) => [o.name, o.block4?.text, o.block6?.text, o.enabled, o.isolated]),
    [['dcos', '9.0.0.0/24', 'fd01:b::/80', true, true]],
  );
  t.equal(a.overlayMtu, 1420);
  const vx = (change: Record<string, unknown>) => {
    const m = allocation();
    Object.assign(m.agent!.overlays![0]!.backend!.vxlan!, change);
    return m;
  };
  t.throws(
    () => parseAllocation(vx({ vtep_ip: '44.128.0.1' })),
    /vxlan\.vtep_ip "44\.128\.0\.1" is not an IPv4 address with a \/prefix/,
  );
  t.throws(() => parseAllocation(vx({ vtep_mac: '01:00:5e:00:00:01' })), /vtep_mac .* unicast/);
  const outside = allocation();
  outside.agent!.overlays![0]!.subnet = '10.0.0.0/24';
  t.throws(
    () => parseAllocation(outside),
    /agent\.overlays\[0\]\.subnet "10\.0\.0\.0\/24" lies outside the overlay/,
  );
  const noMtu = allocation();
  delete noMtu.network!.overlay_mtu;
  t.throws(() => parseAllocation(noMtu), /overlay_mtu/);
  t.throws(() => parseAllocation(null as never), /not an allocation/);
});

t.test('inputs are quoted short in messages', async (t) => {
  t.equal(quote('10.0.0'), '"10.0.0"');
  const long = quote('x'.repeat(100_000));
  t.ok(long.length < 100, long);
  t.match(long, /^"x{64}"… \(100000 characters\)$/);
  t.equal(quote(7), '7');
  t.match(quote({ a: 'y'.repeat(1000) }), /… \(1008 characters\)$/);
});

t.test('the error table: every code has its statuses; details stay small', async (t) => {
  for (const [code, e] of Object.entries(ERRORS)) {
    t.ok(status[e.grpc] !== undefined && e.http >= 400 && e.http < 600, code);
  }
  t.same(grpcStatusOf(new MasterError('VTEP_EXHAUSTED', 'none left')), {
    code: status.RESOURCE_EXHAUSTED,
    details: 'none left',
  });
  t.equal(grpcStatusOf(new Error('boom')).code, status.INTERNAL, 'anything else is INTERNAL');
  t.ok(
    grpcStatusOf(new MasterError('INVALID_ARGUMENT', 'z'.repeat(100_000))).details.length <= 1025,
  );
  t.ok(RETRY_ELSEWHERE.has(ERRORS.UNAVAILABLE.grpc), 'no quorum: try the next master');
  t.ok(RETRY_ELSEWHERE.has(ERRORS.OUTCOME_UNKNOWN.grpc), 'unknown outcome: a retry is safe');
  for (const code of [
    'INVALID_NODE_IP',
    'VTEP_EXHAUSTED',
    'UNAUTHENTICATED',
    'UNKNOWN_OVERLAY',
  ] as const) {
    t.notOk(RETRY_ELSEWHERE.has(ERRORS[code].grpc), `${code} is an answer`);
  }
});

t.test('status reports: proto3 zero values filled in, bad entries named', async (t) => {
  t.same(parseOverlayReports([{ name: 'dcos', used: { mesos: 2 } }]), [
    { name: 'dcos', status: 'STATUS_INVALID', used: { mesos: 2, docker: 0 } },
  ]);
  t.same(parseOverlayReports(undefined), []);
  t.throws(() => parseOverlayReports([{ name: '' }]), /overlays\[0\]\.name: required/);
  t.throws(
    () => parseOverlayReports([{ name: 'a', status: 'NOPE' }]),
    /overlays\[0\]\.status: unknown status "NOPE"/,
  );
  t.throws(() => parseOverlayReports([{ name: 'a', used: { mesos: -1 } }]), /used\.mesos/);
});

t.test('halves, the Mesos gateway and bridge names', async (t) => {
  const block = parseCidr('9.0.1.0/24', 4);
  if (!block.ok) throw new Error();
  t.same(halves(block.cidr).map(formatCidr), ['9.0.1.0/25', '9.0.1.128/25']);
  t.same(mesosGateway(block.cidr), { address: 0x09000101n, prefix: 25 });
  t.equal(overlayOfBridge('m-dcos'), 'dcos');
  t.equal(overlayOfBridge('d-dcos'), 'dcos');
  t.equal(overlayOfBridge('eth0'), undefined);
});

t.test('the generated types are in step with proto/overlay.proto', async (t) => {
  const script = fileURLToPath(new URL('../../../scripts/gen-proto.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
});
