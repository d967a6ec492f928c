import t from 'tap';
import { formatPath } from '../../src/config/types.js';
import { validateNetworkConfig } from '../../src/config/validate.js';

type Raw = Record<string, unknown> & { overlays?: unknown };

const base = (): Raw => ({
  vtep_subnet: '44.128.0.0/20',
  vtep_mac_oui: '70:B3:D5:00:00:00',
  overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }],
});

const withOverlays = (...overlays: unknown[]): Raw => ({ ...base(), overlays });

interface Case {
  rule: string;
  config: unknown;
  path: string;
  message: RegExp;
  underlayMtu?: number;
}

// One bad config per rule; the message must name the field (path) and say what is wrong.
const cases: Case[] = [
  {
    rule: 'config is a mapping',
    config: ['x'],
    path: '(top level)',
    message: /must be a mapping, got a list/,
  },
  {
    rule: 'unknown top-level key, with a hint',
    config: { ...base(), vtep_subent: '1.0.0.0/8' },
    path: 'vtep_subent',
    message: /did you mean "vtep_subnet"/,
  },
  {
    rule: 'unknown key without a close match',
    config: { ...base(), colour: 'blue' },
    path: 'colour',
    message: /expected one of vtep_subnet, /,
  },
  {
    rule: 'unknown overlay key, with a hint',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 24, prefx: 24 }),
    path: 'overlays[0].prefx',
    message: /did you mean "prefix"/,
  },
  {
    rule: 'vtep_subnet required',
    config: { ...base(), vtep_subnet: undefined },
    path: 'vtep_subnet',
    message: /is required/,
  },
  {
    rule: 'vtep_subnet is a string',
    config: { ...base(), vtep_subnet: 44 },
    path: 'vtep_subnet',
    message: /must be a string, got 44/,
  },
  {
    rule: 'vtep_subnet strict CIDR',
    config: { ...base(), vtep_subnet: '44.128.0.1/20' },
    path: 'vtep_subnet',
    message: /host bits set; the network is 44\.128\.0\.0\/20/,
  },
  {
    rule: 'vtep_subnet is IPv4',
    config: { ...base(), vtep_subnet: 'fd01:a::/64' },
    path: 'vtep_subnet',
    message: /is IPv6, not IPv4/,
  },
  {
    rule: 'vtep_subnet at least /8',
    config: { ...base(), vtep_subnet: '44.0.0.0/7' },
    path: 'vtep_subnet',
    message: /\/7 is too short: must be \/8 or longer/,
  },
  {
    rule: 'vtep_subnet leaves VTEP addresses',
    config: { ...base(), vtep_subnet: '44.128.0.0/31' },
    path: 'vtep_subnet',
    message: /leaves no VTEP addresses/,
  },
  {
    rule: 'vtep_subnet6 strict CIDR',
    config: { ...base(), vtep_subnet6: 'fd01:a::1/64' },
    path: 'vtep_subnet6',
    message: /host bits set; the network is fd01:a::\/64/,
  },
  {
    rule: 'vtep_subnet6 needed for IPv6 overlays',
    config: withOverlays({ name: 'dcos6', subnet6: 'fd01:b::/64', prefix6: 80 }),
    path: 'vtep_subnet6',
    message: /required because overlays\[0\] \(dcos6\) has a subnet6/,
  },
  {
    rule: 'OUI required',
    config: { ...base(), vtep_mac_oui: undefined },
    path: 'vtep_mac_oui',
    message: /is required/,
  },
  {
    rule: 'OUI format',
    config: { ...base(), vtep_mac_oui: '70:B3:D5:00:00' },
    path: 'vtep_mac_oui',
    message: /not a MAC address/,
  },
  {
    rule: 'OUI low three bytes zero',
    config: { ...base(), vtep_mac_oui: '70:B3:D5:00:00:01' },
    path: 'vtep_mac_oui',
    message: /low three bytes: they must be zero.*70:B3:D5:00:00:00/,
  },
  {
    rule: 'OUI unicast',
    config: { ...base(), vtep_mac_oui: '71:B3:D5:00:00:00' },
    path: 'vtep_mac_oui',
    message: /multicast OUI/,
  },
  {
    rule: 'vtep_mtu at least 552',
    config: { ...base(), vtep_mtu: 500 },
    path: 'vtep_mtu',
    message: /500 is below the minimum of 552/,
  },
  {
    rule: 'vtep_mtu below the underlay',
    config: { ...base(), vtep_mtu: 1480 },
    path: 'vtep_mtu',
    message: /at most 1450 on a 1500-byte underlay/,
  },
  {
    rule: 'vtep_mtu is an integer',
    config: { ...base(), vtep_mtu: '1400' },
    path: 'vtep_mtu',
    message: /must be an integer/,
  },
  {
    rule: 'overlay_mtu at least 552',
    config: { ...base(), overlay_mtu: 551 },
    path: 'overlay_mtu',
    message: /below the minimum of 552/,
  },
  {
    rule: 'overlay_mtu fits the underlay',
    config: { ...base(), overlay_mtu: 1460 },
    path: 'overlay_mtu',
    message: /at most 1450 on a 1500-byte underlay/,
  },
  {
    rule: 'overlay_mtu fits vtep_mtu',
    config: { ...base(), vtep_mtu: 1400 },
    path: 'overlay_mtu',
    message: /the default overlay_mtu 1420 does not fit: at most 1400/,
  },
  {
    rule: 'default overlay_mtu checked against a small underlay',
    config: base(),
    underlayMtu: 1450,
    path: 'overlay_mtu',
    message: /1420 does not fit: at most 1400 on a 1450-byte underlay/,
  },
  {
    rule: 'overlays required',
    config: { ...base(), overlays: undefined },
    path: 'overlays',
    message: /is required/,
  },
  {
    rule: 'overlays is a list',
    config: { ...base(), overlays: { name: 'x' } },
    path: 'overlays',
    message: /must be a list/,
  },
  { rule: 'at least one overlay', config: withOverlays(), path: 'overlays', message: /is empty/ },
  {
    rule: 'overlay is a mapping',
    config: withOverlays('dcos'),
    path: 'overlays[0]',
    message: /must be a mapping/,
  },
  {
    rule: 'name required',
    config: withOverlays({ subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /is required/,
  },
  {
    rule: 'name at most 13 characters',
    config: withOverlays({ name: 'abcdefghijklmn', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /1 to 13 characters/,
  },
  {
    rule: 'name not empty',
    config: withOverlays({ name: '', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /1 to 13 characters/,
  },
  {
    rule: 'name safe for device names',
    config: withOverlays({ name: 'My Net/1', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /only lowercase letters, digits/,
  },
  {
    rule: 'name host reserved',
    config: withOverlays({ name: 'host', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /"host" is reserved/,
  },
  {
    rule: 'name bridge reserved',
    config: withOverlays({ name: 'bridge', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /"bridge" is reserved/,
  },
  {
    rule: 'name default reserved',
    config: withOverlays({ name: 'default', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /"default" is reserved/,
  },
  {
    rule: 'name none reserved',
    config: withOverlays({ name: 'none', subnet: '9.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].name',
    message: /"none" is reserved/,
  },
  {
    rule: 'duplicate names',
    config: withOverlays(
      { name: 'a', subnet: '9.0.0.0/16', prefix: 24 },
      { name: 'a', subnet: '9.1.0.0/16', prefix: 24 },
    ),
    path: 'overlays[1].name',
    message: /duplicate name "a": overlays\[0\]/,
  },
  {
    rule: 'subnet or subnet6 required',
    config: withOverlays({ name: 'a' }),
    path: 'overlays[0].subnet',
    message: /is required \(or subnet6/,
  },
  {
    rule: 'subnet strict CIDR',
    config: withOverlays({ name: 'a', subnet: '9.0.0.1/8', prefix: 24 }),
    path: 'overlays[0].subnet',
    message: /host bits set; the network is 9\.0\.0\.0\/8/,
  },
  {
    rule: 'subnet parses',
    config: withOverlays({ name: 'a', subnet: '9.0.0/8', prefix: 24 }),
    path: 'overlays[0].subnet',
    message: /not an IPv4 network/,
  },
  {
    rule: 'subnet6 is IPv6',
    config: { ...withOverlays({ name: 'a', subnet6: '9.0.0.0/8' }), vtep_subnet6: 'fd01:a::/64' },
    path: 'overlays[0].subnet6',
    message: /is IPv4, not IPv6/,
  },
  {
    rule: 'prefix required with subnet',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8' }),
    path: 'overlays[0].prefix',
    message: /is required with subnet/,
  },
  {
    rule: 'prefix is an integer',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: '24' }),
    path: 'overlays[0].prefix',
    message: /must be an integer, got "24"/,
  },
  {
    rule: 'prefix longer than the mask',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 8 }),
    path: 'overlays[0].prefix',
    message: /\/8 must be longer than the subnet mask \/8/,
  },
  {
    rule: 'prefix leaves 2 containers per half',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 29 }),
    path: 'overlays[0].prefix',
    message:
      /\/29 is too long: each \/30 half would hold 1 container address\(es\); use \/28 or shorter/,
  },
  {
    rule: 'prefix without subnet',
    config: {
      ...withOverlays({ name: 'a', subnet6: 'fd01:b::/64', prefix: 24 }),
      vtep_subnet6: 'fd01:a::/64',
    },
    path: 'overlays[0].prefix',
    message: /is set but subnet is not/,
  },
  {
    rule: 'prefix6 longer than the mask',
    config: {
      ...withOverlays({ name: 'a', subnet6: 'fd01:b::/64', prefix6: 64 }),
      vtep_subnet6: 'fd01:a::/64',
    },
    path: 'overlays[0].prefix6',
    message: /must be longer than the subnet6 mask \/64/,
  },
  {
    rule: 'prefix6 leaves 2 containers per half',
    config: {
      ...withOverlays({ name: 'a', subnet6: 'fd01:b::/64', prefix6: 126 }),
      vtep_subnet6: 'fd01:a::/64',
    },
    path: 'overlays[0].prefix6',
    message: /\/126 is too long.*use \/125 or shorter/,
  },
  {
    rule: 'enabled is a boolean',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 24, enabled: 'yes' }),
    path: 'overlays[0].enabled',
    message: /must be true or false, got "yes"/,
  },
  {
    rule: 'isolated is a boolean',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 24, isolated: 'no' }),
    path: 'overlays[0].isolated',
    message: /must be true or false, got "no"/,
  },
  {
    rule: 'unknown overlay key near isolated, with a hint',
    config: withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 24, isolate: false }),
    path: 'overlays[0].isolate',
    message: /did you mean "isolated"/,
  },
  {
    rule: 'overlays do not overlap',
    config: withOverlays(
      { name: 'a', subnet: '9.0.0.0/8', prefix: 24 },
      { name: 'b', subnet: '9.128.0.0/9', prefix: 24 },
    ),
    path: 'overlays[1].subnet',
    message: /9\.128\.0\.0\/9 overlaps overlays\[0\]\.subnet 9\.0\.0\.0\/8 \(a\)/,
  },
  {
    rule: 'overlay does not overlap the VTEP subnet',
    config: withOverlays({ name: 'a', subnet: '44.0.0.0/8', prefix: 24 }),
    path: 'overlays[0].subnet',
    message: /overlaps vtep_subnet 44\.128\.0\.0\/20/,
  },
  {
    rule: 'IPv6 overlay does not overlap vtep_subnet6',
    config: {
      ...withOverlays({ name: 'a', subnet6: 'fd01:a::/64', prefix6: 80 }),
      vtep_subnet6: 'fd01:a::/64',
    },
    path: 'overlays[0].subnet6',
    message: /overlaps vtep_subnet6 fd01:a::\/64/,
  },
  {
    rule: 'IPv6 overlays do not overlap each other',
    config: {
      ...withOverlays(
        { name: 'a', subnet6: 'fd01:b::/64', prefix6: 80 },
        { name: 'b', subnet6: 'fd01:b::/48', prefix6: 80 },
      ),
      vtep_subnet6: 'fd01:a::/64',
    },
    path: 'overlays[1].subnet6',
    message: /overlaps overlays\[0\]\.subnet6 fd01:b::\/64/,
  },
];

for (const c of cases) {
  t.test(c.rule, async (t) => {
    const r = validateNetworkConfig(c.config, { underlayMtu: c.underlayMtu });
    t.equal(r.ok, false, 'the config is refused');
    if (r.ok) return;
    const hit = r.issues.find((i) => formatPath(i.path) === c.path);
    t.ok(
      hit,
      `an issue names ${c.path}; got: ${r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join(' | ')}`,
    );
    if (hit) t.match(hit.message, c.message);
  });
}

t.test('every problem is reported at once', async (t) => {
  const r = validateNetworkConfig({
    vtep_subnet: '44.128.0.1/20',
    vtep_mac_oui: 'nope',
    overlays: [
      { name: 'host', subnet: '9.0.0.0/8', prefix: 30 },
      { name: 'x'.repeat(20), subnet: '9.0.0.0/8', prefix: 24 },
    ],
  });
  t.equal(r.ok, false);
  if (r.ok) return;
  t.same(r.issues.map((i) => formatPath(i.path)).sort(), [
    'overlays[0].name',
    'overlays[0].prefix',
    'overlays[1].name',
    'overlays[1].subnet',
    'vtep_mac_oui',
    'vtep_subnet',
  ]);
});

t.test('valid configs', async (t) => {
  const r = validateNetworkConfig(base());
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.config.overlay_mtu, 1420, 'overlay_mtu defaults to 1420');
    t.same(r.config.overlays, [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }]);
  }
  const dual = validateNetworkConfig({
    ...base(),
    vtep_subnet6: 'fd01:a::/64',
    overlays: [
      { name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 },
      { name: 'dcos6', subnet6: 'fd01:b::/64', enabled: false },
    ],
  });
  t.ok(dual.ok, 'IPv6 overlay with the default prefix6');
  if (dual.ok)
    t.same(dual.config.overlays[1], {
      name: 'dcos6',
      subnet6: 'fd01:b::/64',
      prefix6: 80,
      enabled: false,
    });
  t.ok(
    validateNetworkConfig({ ...base(), vtep_mtu: 8950, overlay_mtu: 8900 }, { underlayMtu: 9000 })
      .ok,
    'jumbo frames on a 9000-byte underlay',
  );
  t.ok(
    validateNetworkConfig(withOverlays({ name: 'a', subnet: '9.0.0.0/8', prefix: 28 })).ok,
    '/28 blocks: 5 containers per half',
  );
  t.ok(validateNetworkConfig({ ...base(), vtep_subnet: '44.0.0.0/8' }).ok, 'a /8 VTEP subnet');
});

t.test('isolated: absent stays absent, false and true are kept', async (t) => {
  const r = validateNetworkConfig(
    withOverlays(
      { name: 'a', subnet: '9.0.0.0/8', prefix: 24 },
      { name: 'b', subnet: '10.0.0.0/8', prefix: 24, isolated: false },
      { name: 'c', subnet: '11.0.0.0/8', prefix: 24, isolated: true },
    ),
  );
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(
    r.config.overlays.map((o) => [o.name, Object.hasOwn(o, 'isolated'), o.isolated]),
    [
      ['a', false, undefined],
      ['b', true, false],
      ['c', true, true],
    ],
  );
});
