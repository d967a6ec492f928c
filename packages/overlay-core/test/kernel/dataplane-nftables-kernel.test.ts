// The rendered nftables file in a real kernel (root): applied with `nft -f` inside a fresh network
// namespace on a first run and again as a replacement, listed back with `nft -j`, and removed by
// the file rendered for no overlays. The namespace is removed in teardown, also on failure.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netns, requireRoot } from '@vnet/testkit';
import t from 'tap';
import { renderNftables } from '../../src/dataplane/nftables.js';
import type { MappedPort } from '../../src/dataplane/types.js';
import type { OverlayShare } from '../../src/protocol/node-allocation.js';
import { share } from '../helpers/dataplane-fixtures.js';

interface NftObject {
  table?: { family: string; name: string };
  set?: {
    name: string;
    type: string;
    elem?: ({ prefix: { addr: string; len: number } } | string)[];
  };
  chain?: { name: string; type: string; hook: string; prio: number; policy: string };
  rule?: { chain: string; comment?: string; expr: Record<string, unknown>[] };
}

function nft(
  ns: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const haveNft = spawnSync('nft', ['--version']).status === 0;

requireRoot(t, 'network namespaces and nftables');

t.test('nft -f: first run, replace, delete', async (t) => {
  t.ok(haveNft, 'nft is installed (Debian nftables, from the set-up)');
  if (!haveNft) return;
  const ns = netns(t, 'vdp', 'nft');
  const dir = mkdtempSync(join(tmpdir(), 'vnet-nft-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const apply = (overlays: OverlayShare[], name: string, mapped: MappedPort[] = []) => {
    const file = join(dir, name);
    writeFileSync(file, renderNftables(overlays, mapped));
    const r = nft(ns, ['-f', file]);
    t.equal(r.status, 0, `nft -f ${name}${r.stderr ? `: ${r.stderr}` : ''}`);
  };
  const list = (): NftObject[] => {
    const r = nft(ns, ['-j', 'list', 'table', 'inet', 'vnet']);
    t.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { nftables: NftObject[] }).nftables;
  };
  const sets = (objs: NftObject[]) =>
    Object.fromEntries(
      objs
        .filter((o) => o.set)
        .map((o) => [
          o.set!.name,
          (o.set!.elem ?? []).map((e) =>
            typeof e === 'string' ? e : `${e.prefix.addr}/${e.prefix.len}`,
          ),
        ]),
    );
  const comments = (objs: NftObject[]) =>
    objs.filter((o) => o.rule).map((o) => `${o.rule!.chain}: ${o.rule!.comment}`);

  const three: OverlayShare[] = [
    share({ name: 'dcos', net4: '9.0.0.0/8', net6: 'fd01:b::/64' }),
    share({ name: 'blue', net4: '10.1.0.0/16', isolated: false }),
    share({ name: 'red', net4: '10.2.0.0/16' }),
  ];
  apply(three, 'mapped.nft', [
    { ip: '9.0.1.2', protocol: 'tcp', port: 80 },
    { ip: 'fd01:b::2', protocol: 'udp', port: 53 },
  ]);
  t.ok(
    comments(list()).includes('prerouting: replies of host-port mappings stay tracked'),
    'the kernel takes the mapped-port sets and rules',
  );
  apply(three, 'first.nft');
  let objs = list();
  t.same(sets(objs), {
    overlays4: ['9.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16'],
    isolated4: ['9.0.0.0/8', '10.2.0.0/16'],
    overlays6: ['fd01:b::/64'],
  });
  t.same(
    objs
      .filter((o) => o.chain)
      .map((o) => [o.chain!.name, o.chain!.type, o.chain!.hook, o.chain!.prio, o.chain!.policy]),
    [
      ['prerouting', 'filter', 'prerouting', -300, 'accept'],
      ['postrouting', 'nat', 'postrouting', 100, 'accept'],
      ['forward', 'filter', 'forward', 0, 'accept'],
    ],
  );
  t.same(comments(objs), [
    'prerouting: within dcos',
    'prerouting: within blue',
    'prerouting: within red',
    'prerouting: overlay to overlay',
    'prerouting: within dcos',
    'postrouting: overlays to the outside',
    'postrouting: overlays to the outside',
    'forward: within dcos',
    'forward: within blue',
    'forward: within red',
    'forward: isolate dcos',
    'forward: isolate red',
  ]);
  const masq = objs.find((o) => o.rule?.chain === 'postrouting')!.rule!.expr;
  t.same(masq.at(-1), { masquerade: null });
  t.ok(
    masq.some(
      (e) => JSON.stringify(e).includes('"oifname"') && JSON.stringify(e).includes('vtep1024'),
    ),
    'traffic through vtep1024 is not NATed',
  );

  // The same file again, then a smaller one: each replaces the table whole.
  apply(three, 'again.nft');
  t.equal(list().filter((o) => o.rule).length, 12, 'no rule doubled by a second run');
  apply(three.slice(0, 2), 'replace.nft');
  objs = list();
  t.same(sets(objs), { overlays4: ['9.0.0.0/8', '10.1.0.0/16'], overlays6: ['fd01:b::/64'] });
  t.same(comments(objs), [
    'prerouting: within dcos',
    'prerouting: within blue',
    'prerouting: overlay to overlay',
    'prerouting: within dcos',
    'postrouting: overlays to the outside',
    'postrouting: overlays to the outside',
  ]);

  apply([], 'none.nft');
  const gone = nft(ns, ['list', 'table', 'inet', 'vnet']);
  t.not(gone.status, 0, 'no overlays: the table is gone');
  t.notMatch(nft(ns, ['list', 'tables']).stdout, /vnet/);
  apply([], 'none-again.nft'); // also when there is no table to delete
});
