import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { formatPath } from '../../src/config/types.js';

const example = readFileSync(
  new URL('../../../../../examples/config.yaml', import.meta.url),
  'utf8',
);

t.test('the seed installer config.yaml is read from its dcos_overlay_network block', async (t) => {
  const r = parseConfigText(example);
  t.ok(r.ok);
  if (r.ok)
    t.same(
      r.config.overlays.map((o) => o.name),
      ['dcos-1', 'dcos-2', 'dcos-3'],
    );
});

t.test('errors inside the block carry the full path and their line', async (t) => {
  const text = example.replace('prefix: 24\n    - name: dcos-3', 'prefix: 33\n    - name: dcos-3');
  const r = parseConfigText(text);
  t.equal(r.ok, false);
  if (r.ok) return;
  t.equal(r.issues.length, 1);
  const [issue] = r.issues;
  t.equal(formatPath(issue!.path), 'dcos_overlay_network.overlays[1].prefix');
  t.equal(issue!.line, text.split('\n').findIndex((l) => l.includes('prefix: 33')) + 1);
  t.equal(issue!.column, 7);
});

t.test('a file holding just the block, as JSON', async (t) => {
  const json = JSON.stringify(
    {
      vtep_subnet: '44.128.0.0/20',
      vtep_mac_oui: '70:B3:D5:00:00:00',
      overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }],
    },
    null,
    2,
  );
  t.ok(parseConfigText(json).ok);
  const bad = parseConfigText(json.replace('"vtep_mac_oui"', '"vtep_mac"'));
  t.equal(bad.ok, false);
  if (!bad.ok) {
    const unknown = bad.issues.find((i) => formatPath(i.path) === 'vtep_mac');
    t.match(unknown?.message, /did you mean "vtep_mac_oui"/);
    t.equal(unknown?.line, 3);
  }
});

t.test('the block as a JSON string, as DC/OS generates it', async (t) => {
  const block = JSON.stringify({
    vtep_subnet: '44.128.0.0/20',
    vtep_mac_oui: '70:B3:D5:00:00:00',
    overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }],
  });
  t.ok(parseConfigText(`cluster_name: x\ndcos_overlay_network: '${block}'\n`).ok);
  const bad = parseConfigText(
    `cluster_name: x\ndcos_overlay_network: '${block.replace('/20', '/6')}'\n`,
  );
  t.equal(bad.ok, false);
  if (!bad.ok) {
    t.equal(formatPath(bad.issues[0]!.path), 'dcos_overlay_network.vtep_subnet');
    t.equal(bad.issues[0]!.line, 2, 'points at the key holding the string');
  }
  const broken = parseConfigText(`dcos_overlay_network: '{"vtep_subnet": '\n`);
  t.equal(broken.ok, false);
  if (!broken.ok) t.match(broken.issues[0]!.message, /not valid JSON or YAML/);
});

t.test("the installer's dcos_overlay_mtu sets overlay_mtu", async (t) => {
  const r = parseConfigText(`dcos_overlay_mtu: 1400\n${example}`);
  t.ok(r.ok);
  if (r.ok) t.equal(r.config.overlay_mtu, 1400);
  const bad = parseConfigText(`dcos_overlay_mtu: 9000\n${example}`);
  t.equal(bad.ok, false);
  if (!bad.ok) {
    t.equal(formatPath(bad.issues[0]!.path), 'dcos_overlay_mtu');
    t.equal(bad.issues[0]!.line, 1);
  }
});

t.test('syntax errors, duplicate keys and other documents', async (t) => {
  const syntax = parseConfigText('vtep_subnet: [1, 2\n');
  t.equal(syntax.ok, false);
  if (!syntax.ok) t.match(syntax.issues[0]!.message, /^syntax: /);
  const dup = parseConfigText('vtep_subnet: 44.128.0.0/20\nvtep_subnet: 44.128.0.0/20\n');
  t.equal(dup.ok, false);
  if (!dup.ok) {
    t.match(dup.issues[0]!.message, /unique|duplicate/i);
    t.equal(dup.issues[0]!.line, 2);
  }
  const other = parseConfigText('cluster_name: x\n');
  t.equal(other.ok, false);
  if (!other.ok) t.match(other.issues[0]!.message, /not an overlay network config/);
  const empty = parseConfigText('');
  t.equal(empty.ok, false);
});

t.test('files: read, missing, a directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'overlay.yaml');
  writeFileSync(file, example);
  t.ok((await loadConfigFile(file)).ok);
  const missing = await loadConfigFile(join(dir, 'nope.yaml'));
  t.equal(missing.ok, false);
  if (!missing.ok) t.match(missing.issues[0]!.message, /cannot read .*nope\.yaml: no such file/);
  const isDir = await loadConfigFile(dir);
  t.equal(isDir.ok, false);
  if (!isDir.ok) t.match(isDir.issues[0]!.message, /is a directory/);
});
