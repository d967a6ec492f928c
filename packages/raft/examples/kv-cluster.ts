// The README example: a three-member replicated key-value store on loopback, in one process.
// Each member has its own LevelDB directory and gRPC server.  Run: node dist/examples/kv-cluster.js
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvMember } from './kv-member.js';
import { startKvMember } from './kv-member.js';
import { KvClient } from './kv-service.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-kv-'));
  const peers: Record<string, string> = {};
  for (const id of ['a', 'b', 'c']) peers[id] = `127.0.0.1:${await freePort()}`;
  const members: KvMember[] = [];
  const client = new KvClient(Object.values(peers));
  try {
    for (const id of Object.keys(peers)) {
      members.push(await startKvMember({ id, peers, dataDir: join(dir, id), tickMs: 50 }));
    }
    const leader = await new Promise<string>((resolve) => {
      for (const m of members) m.node.on('leader', ({ leader }) => leader && resolve(leader));
    });
    console.log(`leader elected: ${leader}`);

    for (let i = 0; i < 5; i++) {
      const r = await client.put(`key${i}`, `value${i}`);
      console.log(`put key${i} -> applied at index ${r.index}`);
    }
    console.log(`get key3 -> ${await client.get('key3')}`);

    const next = Object.keys(peers).find((id) => id !== leader)!;
    await members.find((m) => m.node.id === leader)!.node.transferLeadership(next);
    console.log(`leadership transferred to ${next}`);
    const r = await client.put('key3', 'changed');
    console.log(
      `put key3 again (prev ${r.prev}) at index ${r.index}; get -> ${await client.get('key3')}`,
    );
    for (const m of members) {
      await m.node.read().catch(() => {});
      console.log(
        `member ${m.node.id}: ${m.store.size()} keys, applied ${m.node.status().applied}`,
      );
    }
  } finally {
    client.close();
    for (const m of members) await m.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(e);
  process.exit(1);
});
