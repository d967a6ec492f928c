// A key-value server process (one cluster member):
//
//   node dist/examples/kv-server.js --id a --data /tmp/kv-a \
//     --peers a=127.0.0.1:7001,b=127.0.0.1:7002,c=127.0.0.1:7003 [--tick-ms 100] [--snapshot-entries N]
//
// Prints one JSON line per event on stdout ({"event":"ready"...}, {"event":"leader"...}); stops
// cleanly on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { startKvMember } from './kv-member.js';

function parsePeers(s: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const part of s.split(',')) {
    const [id, addr] = part.split('=');
    if (!id || !addr) throw new Error(`--peers: expected id=host:port,..., got "${part}"`);
    peers[id] = addr;
  }
  return peers;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      data: { type: 'string' },
      peers: { type: 'string' },
      'tick-ms': { type: 'string' },
      'snapshot-entries': { type: 'string' },
    },
  });
  if (!values.id || !values.data || !values.peers) {
    throw new Error(
      'usage: kv-server --id ID --data DIR --peers id=host:port,... [--tick-ms N] [--snapshot-entries N]',
    );
  }
  const member = await startKvMember({
    id: values.id,
    peers: parsePeers(values.peers),
    dataDir: values.data,
    ...(values['tick-ms'] ? { tickMs: Number(values['tick-ms']) } : {}),
    ...(values['snapshot-entries'] ? { snapshotEntries: Number(values['snapshot-entries']) } : {}),
  });
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  member.node.on('leader', ({ leader, term }) =>
    out({ event: 'leader', id: values.id, leader, term }),
  );
  member.node.on('error', (e) => {
    out({ event: 'error', id: values.id, error: e.message });
    process.exit(1);
  });
  out({ event: 'ready', id: values.id, port: member.port });
  const stop = () => {
    member.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`kv-server: ${e.message}\n`);
  process.exit(1);
});
