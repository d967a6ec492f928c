// Masters with --tls-dir: nodes and masters speak mutual TLS (the gRPC service, the Raft port,
// forwarded proposals); a client without a certificate, or with one of another CA, gets nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { makePki } from '@vnet/raft/testing/pki';
import { httpApi as api, MasterCluster } from '@vnet/testkit';
import t from 'tap';
import { MasterCallError, MasterClient } from '../../src/api/client.js';
import { DCOS_CONFIG_YAML, VNET } from '../helpers/configs.js';

t.test('mutual TLS between nodes and masters, and among masters', async (t) => {
  const pki = mkdtempSync(join(tmpdir(), 'vnet-pki-'));
  t.teardown(() => rmSync(pki, { recursive: true, force: true }));
  const pem = makePki(pki, 'cluster');
  const other = makePki(pki, 'intruder');
  const tlsDir = join(pki, 'tls');
  mkdirSync(tlsDir);
  writeFileSync(join(tlsDir, 'ca.pem'), pem.ca);
  writeFileSync(join(tlsDir, 'cert.pem'), pem.cert);
  writeFileSync(join(tlsDir, 'key.pem'), pem.key);

  const cluster = await MasterCluster.create({
    vnet: VNET,
    n: 3,
    config: DCOS_CONFIG_YAML,
    extraArgs: ['--tls-dir', tlsDir],
  });
  t.teardown(() => cluster.destroy());
  await cluster.startAll();
  const leader = await cluster.leader();
  const follower = cluster.masters.find((m) => m !== leader)!;

  const client = new MasterClient([follower.grpc], { tls: pem, callTimeoutMs: 5000 });
  t.teardown(() => client.close());
  const a = await client.register('10.40.0.1', true);
  t.equal(
    a.agent?.overlays?.[0]?.subnet,
    '9.0.0.0/24',
    'registered through a follower (forwarded over TLS)',
  );
  const state = await api(leader.http, 'GET', '/overlay-master/state');
  t.equal(state.body.agents.length, 1);

  const plain = new MasterClient([follower.grpc], { callTimeoutMs: 3000 });
  t.teardown(() => plain.close());
  const e1 = await plain.register('10.40.0.2', true).catch((e) => e);
  t.ok(
    e1 instanceof MasterCallError && e1.code === grpc.status.UNAVAILABLE,
    `no TLS: ${e1.message}`,
  );
  // Trusts the masters' CA but presents a certificate the masters' CA did not sign.
  const stranger = new MasterClient([leader.grpc], {
    tls: { ca: pem.ca, cert: other.cert, key: other.key },
    callTimeoutMs: 3000,
  });
  t.teardown(() => stranger.close());
  const e2 = await stranger.register('10.40.0.3', true).catch((e) => e);
  t.ok(
    e2 instanceof MasterCallError,
    `a client certificate of another CA is refused: ${e2.message}`,
  );
  t.equal(
    (await api(leader.http, 'GET', '/overlay-master/state')).body.agents.length,
    1,
    'nothing else got in',
  );

  await cluster.kill(leader, 'SIGKILL');
  const b = await client.register('10.40.0.4', true);
  t.ok(b.agent?.overlays?.[0]?.subnet, 'a new leader is elected over TLS and takes registrations');
});
