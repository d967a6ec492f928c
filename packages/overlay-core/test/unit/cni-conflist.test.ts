// The node's CNI config lists (pure) and their conf dir (files vnet owns, atomic, idempotent).
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { confListFileName, readCniLeases, syncCniConfigs } from '../../src/cni/conf-dir.js';
import { type ConfListNode, cniConfigLists } from '../../src/cni/conflist.js';
import { share } from '../helpers/dataplane-fixtures.js';

const node = (overlays: ConfListNode['overlays'], overlayMtu = 1420): ConfListNode => ({
  ip: '10.0.0.1',
  overlays,
  overlayMtu,
});

const dcos = share({ name: 'dcos', net4: '9.0.0.0/8', block4: '9.0.1.0/24' });

t.test(
  'one list per enabled overlay with an IPv4 block: bridge, host-local, portmap, vnet',
  async (t) => {
    const lists = cniConfigLists(
      node([
        dcos,
        share({ name: 'off', net4: '10.1.0.0/16', block4: '10.1.0.0/24', enabled: false }),
        share({ name: 'dcos6', net6: 'fd01:b::/64', block6: 'fd01:b::/80' }),
        share({ name: 'noblock', net4: '10.2.0.0/16' }),
      ]),
      { agentSocket: '/run/x.sock', dataDir: '/run/leases', search: ['marathon.containerip.dcos'] },
    );
    t.same(lists, [
      {
        cniVersion: '1.0.0',
        name: 'dcos',
        plugins: [
          {
            type: 'bridge',
            bridge: 'm-dcos',
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            mtu: 1420,
            ipam: {
              type: 'host-local',
              dataDir: '/run/leases',
              ranges: [[{ subnet: '9.0.1.0/25', rangeStart: '9.0.1.2', gateway: '9.0.1.1' }]],
              routes: [{ dst: '0.0.0.0/0', gw: '9.0.1.1' }],
            },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          {
            type: 'vnet',
            capabilities: { portMappings: true, aliases: true },
            agentSocket: '/run/x.sock',
            network: 'dcos',
            node: '10.0.0.1',
            dns: { nameservers: ['9.0.1.1'], search: ['marathon.containerip.dcos'] },
          },
        ],
      },
    ]);
  },
);

t.test(
  'dual stack: the IPv6 half is a second range set; MTU and resolvers follow the options',
  async (t) => {
    const [list] = cniConfigLists(
      node([
        share({
          name: 'dual',
          net4: '9.0.0.0/8',
          block4: '9.0.2.0/26',
          net6: 'fd01:b::/64',
          block6: 'fd01:b:0:0:1::/80',
        }),
      ]),
      { mtu: 1400, nameservers: [] },
    );
    const bridge = list!.plugins[0]!;
    t.equal(bridge.mtu, 1400);
    t.same((bridge.ipam as { ranges: unknown }).ranges, [
      [{ subnet: '9.0.2.0/27', rangeStart: '9.0.2.2', gateway: '9.0.2.1' }],
      [{ subnet: 'fd01:b:0:0:1::/81', rangeStart: 'fd01:b::1:0:0:2', gateway: 'fd01:b::1:0:0:1' }],
    ]);
    t.same((bridge.ipam as { routes: unknown }).routes, [
      { dst: '0.0.0.0/0', gw: '9.0.2.1' },
      { dst: '::/0', gw: 'fd01:b::1:0:0:1' },
    ]);
    t.equal((bridge.ipam as { dataDir: string }).dataDir, '/run/vnet/cni/networks');
    const vnet = list!.plugins[2]!;
    t.equal(vnet.agentSocket, '/run/vnet/tasks.sock');
    t.notOk('dns' in vnet, 'no resolvers, no search: no dns');
  },
);

t.test('syncCniConfigs writes, keeps, rewrites and removes only its own files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, '10-other.conflist'), '{"name":"other"}');
  writeFileSync(join(dir, 'vnet.conf'), 'not ours either');
  writeFileSync(join(dir, '.vnet-dcos.conflist.deadbeef.tmp'), 'left by a dead writer');
  const blue = share({ name: 'blue', net4: '10.1.0.0/16', block4: '10.1.3.0/24' });

  let r = await syncCniConfigs(dir, cniConfigLists(node([dcos, blue])));
  t.same(r, { written: ['vnet-dcos.conflist', 'vnet-blue.conflist'], removed: [] });
  t.same(readdirSync(dir).sort(), [
    '10-other.conflist',
    'vnet-blue.conflist',
    'vnet-dcos.conflist',
    'vnet.conf',
  ]);
  const file = join(dir, confListFileName('dcos'));
  t.equal(JSON.parse(readFileSync(file, 'utf8')).plugins[0].ipam.ranges[0][0].subnet, '9.0.1.0/25');
  const mtime = statSync(file).mtimeMs;

  r = await syncCniConfigs(dir, cniConfigLists(node([dcos, blue])));
  t.same(r, { written: [], removed: [] }, 'unchanged lists are not rewritten');
  t.equal(statSync(file).mtimeMs, mtime);

  r = await syncCniConfigs(dir, cniConfigLists(node([dcos], 1380)));
  t.same(r, { written: ['vnet-dcos.conflist'], removed: ['vnet-blue.conflist'] });
  t.equal(JSON.parse(readFileSync(file, 'utf8')).plugins[0].mtu, 1380);

  r = await syncCniConfigs(dir, []);
  t.same(r, { written: [], removed: ['vnet-dcos.conflist'] });
  t.same(readdirSync(dir).sort(), ['10-other.conflist', 'vnet.conf']);
});

t.test('syncCniConfigs creates a missing dir', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'vnet-cni-conf-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const r = await syncCniConfigs(join(base, 'a/b'), cniConfigLists(node([dcos])));
  t.same(r.written, ['vnet-dcos.conflist']);
});

t.test(
  'readCniLeases: the addresses host-local holds, with their container and interface',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vnet-cni-leases-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    t.same(await readCniLeases(dir, 'dcos'), [], 'no network dir yet');
    mkdirSync(join(dir, 'dcos'));
    writeFileSync(join(dir, 'dcos', 'lock'), '');
    writeFileSync(join(dir, 'dcos', 'last_reserved_ip.0'), '9.0.1.3');
    writeFileSync(join(dir, 'dcos', '9.0.1.2'), 'abc\r\neth0');
    writeFileSync(join(dir, 'dcos', '9.0.1.3'), 'def\r\nnet1');
    writeFileSync(join(dir, 'dcos', 'fd01:b::2'), 'abc\r\neth0');
    t.same(await readCniLeases(dir, 'dcos'), [
      { ip: '9.0.1.2', containerId: 'abc', ifname: 'eth0' },
      { ip: '9.0.1.3', containerId: 'def', ifname: 'net1' },
      { ip: 'fd01:b::2', containerId: 'abc', ifname: 'eth0' },
    ]);
  },
);
