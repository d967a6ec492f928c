// The overlay master's replicated state machine, deterministically: every command, its result,
// what it tells the allocation streams, snapshots, and bad log entries.

import { pack } from '@vnet/raft';
import t from 'tap';
import type { NetworkConfig } from '../../src/config/types.js';
import {
  type CommandResult,
  decodeCommand,
  encodeCommand,
  type MasterCommand,
} from '../../src/master/commands.js';
import { conflictMessage } from '../../src/master/config-diff.js';
import { type AppliedChange, MasterStateMachine } from '../../src/master/state-machine.js';

const config = (): NetworkConfig => ({
  vtep_subnet: '44.128.0.0/29', // 6 VTEP addresses
  vtep_mac_oui: '70:B3:D5:00:00:00',
  overlay_mtu: 1420,
  overlays: [
    { name: 'tiny', subnet: '10.0.0.0/26', prefix: 28 }, // 4 node blocks
    { name: 'big', subnet: '10.1.0.0/16', prefix: 24 },
  ],
});

function machine() {
  const sm = new MasterStateMachine();
  const changes: AppliedChange[] = [];
  sm.onChange((c) => changes.push(c));
  let index = 0;
  const run = (c: MasterCommand): CommandResult => sm.apply(encodeCommand(c), ++index);
  return { sm, changes, run };
}

const ok = <T extends CommandResult>(r: T) => {
  if (!r.ok) throw new Error(`expected success, got ${r.code}: ${r.message}`);
  return r as Extract<T, { ok: true }>;
};

t.test('nothing works before the log holds a config', async (t) => {
  const { run } = machine();
  const r = run({ op: 'register', ip: '10.10.0.1', bridges: true });
  t.match(r, { ok: false, code: 'NO_CONFIG' });
});

t.test('registration, re-registration, statuses and deletion', async (t) => {
  const { sm, changes, run } = machine();
  t.match(ok(run({ op: 'ensure-config', config: config(), applyRemovals: false })), {
    initialized: true,
  });
  const a = ok(run({ op: 'register', ip: '10.10.0.1', bridges: true }));
  t.match(a, { op: 'register', created: true, changed: true });
  if (a.op !== 'register') throw new Error();
  t.equal(a.agent.overlays?.[0]?.subnet, '10.0.0.0/28');
  t.equal(a.agent.overlays?.[0]?.backend?.vxlan?.vtep_ip, '44.128.0.1/29');
  const again = ok(run({ op: 'register', ip: '10.10.0.1', bridges: true }));
  t.match(again, { created: false, changed: false });
  if (again.op !== 'register') throw new Error();
  t.same(again.agent, a.agent, 're-registration gives the same allocation');

  const master = ok(run({ op: 'register', ip: '010.10.0.2'.slice(1), bridges: false }));
  if (master.op !== 'register') throw new Error();
  t.notOk(master.agent.overlays?.[0]?.mesos_bridge, 'a master gets no bridges');

  const report = ok(
    run({
      op: 'report',
      ip: '10.10.0.1',
      overlays: [{ name: 'tiny', status: 'STATUS_OK', used: { mesos: 3, docker: 1 } }],
    }),
  );
  t.match(report, { changed: true });
  t.same(sm.ipam!.getStatus('10.10.0.1', 'tiny'), {
    status: 'STATUS_OK',
    used: { mesos: 3, docker: 1 },
  });
  t.match(
    ok(
      run({
        op: 'report',
        ip: '10.10.0.1',
        overlays: [{ name: 'tiny', status: 'STATUS_OK', used: { mesos: 3, docker: 1 } }],
      }),
    ),
    { changed: false },
  );
  t.match(run({ op: 'report', ip: '10.10.0.9', overlays: [] }), {
    ok: false,
    code: 'UNKNOWN_NODE',
  });
  // An overlay removed between the service's check and the entry's apply: skipped, as entries
  // already in logs were applied (the service refuses such a report before proposing it).
  const late = ok(
    run({
      op: 'report',
      ip: '10.10.0.1',
      overlays: [
        { name: 'tiny', status: 'STATUS_FAILED' },
        { name: 'gone', status: 'STATUS_OK' },
      ],
    }),
  );
  t.match(late, { changed: true });
  t.same(sm.ipam!.getStatus('10.10.0.1', 'tiny'), { status: 'STATUS_FAILED' });
  t.equal(sm.ipam!.getStatus('10.10.0.1', 'gone'), undefined);

  const del = ok(run({ op: 'delete-nodes', ips: ['10.10.0.1', '10.10.0.77', 'junk'] }));
  t.same(del, {
    ok: true,
    op: 'delete-nodes',
    deleted: ['10.10.0.1'],
    unknown: ['10.10.0.77', 'junk'],
  });
  const reuse = ok(run({ op: 'register', ip: '10.10.0.3', bridges: true }));
  if (reuse.op !== 'register') throw new Error();
  t.equal(reuse.agent.overlays?.[0]?.subnet, '10.0.0.0/28', 'a deleted node frees its block');
  t.equal(
    reuse.agent.overlays?.[0]?.backend?.vxlan?.vtep_ip,
    '44.128.0.1/29',
    '...and its VTEP IP',
  );
  t.same(
    changes.map((c) => [c.nodes, c.reported, c.deleted, c.config]),
    [
      [[], [], [], true],
      [['10.10.0.1'], [], [], false],
      [['10.10.0.2'], [], [], false],
      [[], ['10.10.0.1'], [], false],
      [[], ['10.10.0.1'], [], false],
      [[], [], ['10.10.0.1'], false],
      [['10.10.0.3'], [], [], false],
    ],
    'a report is a status change, not an allocation change',
  );
});

t.test('exhaustion: of an overlay (the node gets its others) and of VTEP addresses', async (t) => {
  const { run } = machine();
  ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
  const results = [1, 2, 3, 4, 5, 6, 7].map((i) =>
    run({ op: 'register', ip: `10.10.0.${i}`, bridges: true }),
  );
  const fifth = ok(results[4]!);
  if (fifth.op !== 'register') throw new Error();
  t.match(fifth.agent.overlays?.[0]?.state, {
    status: 'STATUS_FAILED',
    error: /no free subnets in the tiny overlay/,
  });
  t.equal(fifth.agent.overlays?.[1]?.subnet, '10.1.4.0/24');
  t.match(results[6], { ok: false, code: 'VTEP_EXHAUSTED', message: /no free VTEP IP/ });
});

t.test('overlays at runtime: add fills every node, enable/disable, remove', async (t) => {
  const { sm, changes, run } = machine();
  ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
  ok(run({ op: 'register', ip: '10.10.0.1', bridges: true }));
  ok(run({ op: 'register', ip: '10.10.0.2', bridges: false }));
  changes.length = 0;
  const added = ok(
    run({ op: 'add-overlay', overlay: { name: 'blue', subnet: '10.2.0.0/16', prefix: 24 } }),
  );
  t.match(added, { created: true, nodes: 2 });
  t.same(changes.at(-1), {
    index: 4,
    nodes: ['10.10.0.1', '10.10.0.2'],
    reported: [],
    deleted: [],
    config: true,
  });
  t.equal(sm.ipam!.holders('blue').length, 2);
  t.match(
    ok(run({ op: 'add-overlay', overlay: { name: 'blue', subnet: '10.2.0.0/16', prefix: 24 } })),
    {
      created: false,
    },
  );
  t.match(
    run({ op: 'add-overlay', overlay: { name: 'blue', subnet: '10.3.0.0/16', prefix: 24 } }),
    {
      ok: false,
      code: 'OVERLAY_EXISTS',
    },
  );
  t.match(
    run({ op: 'add-overlay', overlay: { name: 'red', subnet: '10.1.128.0/17', prefix: 24 } }),
    {
      ok: false,
      code: 'INVALID_OVERLAY',
      message: /overlaps/,
    },
  );
  t.match(
    run({
      op: 'add-overlay',
      overlay: { name: 'x', subnet: '10.9.0.0/16', prefix: 24, colour: 1 } as never,
    }),
    {
      ok: false,
      code: 'BAD_COMMAND',
      message: /unknown key "colour"/,
    },
    'a log entry with a field no overlay has is refused whole',
  );

  ok(run({ op: 'set-enabled', name: 'blue', enabled: false }));
  ok(run({ op: 'register', ip: '10.10.0.3', bridges: true }));
  t.notOk(sm.ipam!.getNode('10.10.0.3')!.overlays.has('blue'), 'disabled: no new blocks');
  t.ok(sm.ipam!.getNode('10.10.0.1')!.overlays.has('blue'), 'disabled: held blocks stay');
  const enabled = ok(run({ op: 'set-enabled', name: 'blue', enabled: true }));
  t.match(enabled, { changed: true, nodes: 1 });
  t.ok(sm.ipam!.getNode('10.10.0.3')!.overlays.has('blue'), 'enabled: filled at once');
  t.match(run({ op: 'set-enabled', name: 'nope', enabled: true }), {
    ok: false,
    code: 'UNKNOWN_OVERLAY',
  });

  const held = run({ op: 'remove-overlay', name: 'blue', force: false });
  t.match(held, {
    ok: false,
    code: 'OVERLAY_HELD',
    holders: ['10.10.0.1', '10.10.0.2', '10.10.0.3'],
  });
  t.ok(
    sm.ipam!.config.overlays.some((o) => o.name === 'blue'),
    'refused: nothing changed',
  );
  t.match(ok(run({ op: 'remove-overlay', name: 'blue', force: true })), {
    holders: ['10.10.0.1', '10.10.0.2', '10.10.0.3'],
  });
  t.notOk(sm.ipam!.config.overlays.some((o) => o.name === 'blue'));
  t.notOk(sm.ipam!.getNode('10.10.0.1')!.overlays.has('blue'));
  ok(run({ op: 'add-overlay', overlay: { name: 'blue', subnet: '10.2.0.0/16', prefix: 24 } }));
  t.equal(
    sm.ipam!.getNode('10.10.0.1')!.overlays.get('blue')!.subnet,
    0x0a020000n,
    'removed blocks are free again',
  );
});

t.test('ensure-config: adds, MTU changes, conflicts and --apply-removals', async (t) => {
  const { sm, run } = machine();
  ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
  for (const i of [1, 2]) ok(run({ op: 'register', ip: `10.10.0.${i}`, bridges: true }));

  const same = ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
  t.match(same, { initialized: false, added: [], removed: [], updated: [] });

  const more = config();
  more.overlays.push({ name: 'green', subnet: '10.5.0.0/16', prefix: 24 });
  more.overlay_mtu = 1400;
  t.match(ok(run({ op: 'ensure-config', config: more, applyRemovals: false })), {
    added: ['green'],
    updated: ['overlay_mtu'],
  });
  t.equal(sm.ipam!.holders('green').length, 2, 'existing nodes get the new overlay');
  t.equal(sm.ipam!.config.overlay_mtu, 1400);

  const changed = config();
  changed.overlays = [{ name: 'tiny', subnet: '10.0.0.0/26', prefix: 27 }];
  changed.vtep_mac_oui = '70:B3:D6:00:00:00';
  const refused = run({ op: 'ensure-config', config: changed, applyRemovals: false });
  if (refused.ok) throw new Error('expected a conflict');
  t.equal(refused.code, 'CONFIG_CONFLICT');
  t.same(
    refused.conflicts!.map((c) => [c.overlay ?? '', c.what, c.holders, c.removable]),
    [
      [
        '',
        'vtep_mac_oui is 70:B3:D5:00:00:00 in the log but 70:B3:D6:00:00:00 in the file',
        2,
        false,
      ],
      ['big', 'is in the log but missing from the file', 2, true],
      ['green', 'is in the log but missing from the file', 2, true],
      ['tiny', 'prefix is 28 in the log but 27 in the file', 2, true],
    ],
  );
  const message = conflictMessage({
    conflicts: refused.conflicts!,
    configFile: '/etc/vnet/config.yaml',
    dataDir: '/var/lib/vnet',
    argv: ['vnet', 'master', '--id', 'a', '--config', '/etc/vnet/config.yaml'],
    log: sm.ipam!.config,
  });
  t.match(
    message,
    /overlay "tiny" prefix is 28 in the log but 27 in the file; 2 nodes hold blocks of it/,
  );
  t.match(message, /put \{name: tiny, subnet: 10\.0\.0\.0\/26, prefix: 28\} back/);
  t.match(message, /vnet master --id a --config \/etc\/vnet\/config\.yaml --apply-removals/);
  t.match(message, /vnet overlay remove big --force/);
  t.match(
    run({ op: 'ensure-config', config: changed, applyRemovals: true }),
    {
      ok: false,
      code: 'CONFIG_CONFLICT',
    },
    'a cluster-wide conflict is not removable',
  );

  changed.vtep_mac_oui = config().vtep_mac_oui;
  const applied = ok(run({ op: 'ensure-config', config: changed, applyRemovals: true }));
  t.match(applied, { removed: ['big', 'green', 'tiny'], added: ['tiny'] });
  t.same(
    sm.ipam!.config.overlays.map((o) => [o.name, o.prefix]),
    [['tiny', 27]],
  );
  t.same(
    [...sm.ipam!.nodes].map((n) => [n.ip, n.overlays.get('tiny')!.subnet]),
    [
      ['10.10.0.1', 0x0a000000n],
      ['10.10.0.2', 0x0a000020n],
    ],
    're-created overlay: nodes get blocks of the new prefix',
  );
  t.equal(sm.ipam!.getNode('10.10.0.1')!.vtepIp, 0x2c800001n, 'VTEP addresses are kept');
});

t.test('snapshots restore the same state, statuses included', async (t) => {
  const { sm, run } = machine();
  ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
  for (const i of [1, 2, 3]) ok(run({ op: 'register', ip: `10.10.0.${i}`, bridges: i !== 2 }));
  ok(
    run({
      op: 'report',
      ip: '10.10.0.3',
      overlays: [{ name: 'big', status: 'STATUS_FAILED', error: 'no bridge' }],
    }),
  );
  const copy = new MasterStateMachine();
  let notified = 0;
  copy.onChange(() => notified++);
  copy.restore(sm.snapshot());
  t.same(copy.ipam!.snapshot(), sm.ipam!.snapshot());
  t.equal(notified, 1, 'a restore tells the streams');
  const empty = new MasterStateMachine();
  const blank = new MasterStateMachine();
  blank.restore(empty.snapshot());
  t.equal(blank.ipam, undefined);
  t.throws(() => blank.restore(pack({ format: 99 })), /unknown format 99/);
});

t.test('bad log entries are refused the same way everywhere, without throwing', async (t) => {
  const { sm, run } = machine();
  ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
  const bad = [
    Buffer.from([0xc1]),
    pack([1, 2, 3]),
    pack({ op: 'register', ip: 7, bridges: true }),
    pack({ op: 'register', ip: '10.0.0.1' }),
    pack({ op: 'report', ip: '10.0.0.1', overlays: [{ name: 'tiny', status: 'STATUS_MAYBE' }] }),
    pack({
      op: 'report',
      ip: '10.0.0.1',
      overlays: [{ name: 'tiny', status: 'STATUS_OK', used: { mesos: -1, docker: 0 } }],
    }),
    pack({ op: 'delete-nodes', ips: [1] }),
    pack({ op: 'explode' }),
    pack({ op: 'ensure-config', config: 'x', applyRemovals: false }),
  ];
  const before = JSON.stringify(sm.ipam!.snapshot());
  for (const [i, b] of bad.entries()) {
    const r = sm.apply(b, 100 + i);
    t.match(r, { ok: false, code: 'BAD_COMMAND' }, `entry ${i}`);
  }
  t.equal(JSON.stringify(sm.ipam!.snapshot()), before);
  t.match(
    sm.apply(
      encodeCommand({
        op: 'ensure-config',
        config: { ...config(), vtep_subnet: 'x' },
        applyRemovals: false,
      }),
      200,
    ),
    { ok: false, code: 'BAD_COMMAND', message: /vtep_subnet/ },
  );
  t.same(decodeCommand(encodeCommand({ op: 'set-enabled', name: 'a', enabled: true })), {
    op: 'set-enabled',
    name: 'a',
    enabled: true,
  });
});

t.test(
  'entries already in logs apply as they did: null fields of an overlay are absent',
  async (t) => {
    const { sm, run } = machine();
    ok(run({ op: 'ensure-config', config: config(), applyRemovals: false }));
    // What the HTTP API proposed before it normalized bodies: the raw JSON, nulls included.
    const r = sm.apply(
      encodeCommand({
        op: 'add-overlay',
        overlay: { name: 'red', subnet: '10.5.0.0/16', prefix: 24, subnet6: null } as never,
      }),
      50,
    );
    t.match(r, { ok: true, op: 'add-overlay', created: true });
    t.equal(sm.ipam!.config.overlays.at(-1)?.subnet6, undefined);
  },
);
