// Runs the real `vnet` executable as an operator would.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const example = fileURLToPath(new URL('../../../../../examples/config.yaml', import.meta.url));

function vnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

t.test('the shipped example checks clean and reports 128 node subnets per /17', async (t) => {
  const r = await vnet('config', 'check', example);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /valid overlay network config/);
  t.match(r.stdout, /dcos-1\s+IPv4\s+192\.168\.0\.0\/17\s+\/24\s+128\s+125\s+125\s+32000/);
  t.match(r.stdout, /dcos-2\s+IPv4\s+192\.168\.128\.0\/17\s+\/24\s+128\s/);
  t.match(r.stdout, /dcos-3\s+IPv4\s+44\.128\.0\.0\/16\s+\/24\s+256\s/);
  t.match(r.stdout, /4094 VTEP addresses/);
});

t.test('--json', async (t) => {
  const r = await vnet('config', 'check', '--json', example);
  t.equal(r.code, 0);
  const body = JSON.parse(r.stdout);
  t.equal(body.ok, true);
  t.equal(body.capacity.maxNodes, 4094);
  t.same(
    body.capacity.overlays.map(
      (o: { families: { nodeSubnets: number }[] }) => o.families[0]!.nodeSubnets,
    ),
    [128, 128, 256],
  );
});

t.test('a bad config exits 2 and lists every error with file, line and field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vnet-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      'dcos_overlay_network:',
      '  vtep_subnet: 192.15.0.1/20',
      '  vtep_mac_oui: 70:B3:D5:00:00:00',
      '  overlays:',
      '    - name: none',
      '      subnet: 192.168.0.0/17',
      '      prefix: 24',
      '',
    ].join('\n'),
  );
  const r = await vnet('config', 'check', file);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, /2 problems/);
  t.match(
    r.stderr,
    `${file}:2:3: dcos_overlay_network.vtep_subnet: "192.15.0.1/20" has host bits set; the network is 192.15.0.0/20`,
  );
  t.match(r.stderr, `${file}:5:7: dcos_overlay_network.overlays[0].name: "none" is reserved`);
  const json = await vnet('config', 'check', '--json', file);
  t.equal(json.code, 2);
  t.same(
    JSON.parse(json.stdout).errors.map((e: { path: string }) => e.path),
    ['dcos_overlay_network.vtep_subnet', 'dcos_overlay_network.overlays[0].name'],
  );
});

t.test('a missing file and bad flags are clear errors', async (t) => {
  const missing = await vnet('config', 'check', '/nonexistent/config.yaml');
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read \/nonexistent\/config\.yaml: no such file/);
  const flag = await vnet('config', 'check', '--underlay-mtu', 'big', example);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /"big" is not a positive number of bytes/);
  const noArg = await vnet('config', 'check');
  t.equal(noArg.code, 2);
  t.match(noArg.stderr, /missing required argument 'file'/);
  const help = await vnet('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /config/);
});
