// A member in its own process, driven over stdio with JSON lines: the bench starts dozens of
// these, and the real-socket tests a few. Kept to the library and Node built-ins so that each
// process stays small.
//
//   node dist/bench/member.js --name NAME [--bind 127.0.0.1] [--port 0] [--profile lan]
//        [--settings JSON] [--key BASE64]
//
// stdin:  {"op":"join","seeds":["ip:port"]} | {"op":"put","key":K,"value":V,"bound":true}
//         {"op":"delete","key":K} | {"op":"leave"} | {"op":"stats"} | {"op":"exit"}
// stdout: {"ev":"ready","addr":A,"pid":P} | {"ev":"join"|"update"|"suspect"|"alive"|"dead"|"leave","member":M}
//         {"ev":"put"|"delete","key":K} | {"ev":"joined","reached":N} | {"ev":"stats",...}
//         {"ev":"error","message":S}
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ProfileName } from '../src/config.js';
import type { MemberEventType } from '../src/membership/membership.js';
import { createSwim } from '../src/runtime/net.js';

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    bind: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    profile: { type: 'string', default: 'lan' },
    settings: { type: 'string', default: '{}' },
    key: { type: 'string' },
  },
});

function out(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

if (!values.name) {
  process.stderr.write('member: --name is required\n');
  process.exit(2);
}

const swim = await createSwim({
  name: values.name,
  bindAddr: values.bind,
  bindPort: Number(values.port),
  profile: values.profile as ProfileName,
  settings: JSON.parse(values.settings),
  ...(values.key ? { keyring: [values.key] } : {}),
});
const types: MemberEventType[] = ['join', 'update', 'suspect', 'alive', 'dead', 'leave'];
for (const ev of types) swim.on(ev, (m) => out({ ev, member: m.name }));
swim.on('error', (err) => out({ ev: 'error', message: err.message }));
swim.store.subscribe('', (e) => {
  if (e.type === 'put') out({ ev: 'put', key: e.entry.key });
  else if (e.type === 'delete') out({ ev: 'delete', key: e.key });
});
out({ ev: 'ready', addr: swim.address, pid: process.pid });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let cmd: { op: string; seeds?: string[]; key?: string; value?: unknown; bound?: boolean };
  try {
    cmd = JSON.parse(line);
  } catch {
    out({ ev: 'error', message: `not JSON: ${line}` });
    return;
  }
  try {
    switch (cmd.op) {
      case 'join':
        swim.join(cmd.seeds ?? []).then(
          (reached) => out({ ev: 'joined', reached }),
          (err: Error) => out({ ev: 'error', message: err.message }),
        );
        break;
      case 'put':
        swim.store.put(cmd.key as string, cmd.value, { bound: cmd.bound === true });
        break;
      case 'delete':
        swim.store.delete(cmd.key as string);
        break;
      case 'stats':
        out({ ev: 'stats', ...swim.stats(), live: swim.liveCount });
        break;
      case 'leave':
        swim.leave().then(() => process.exit(0));
        break;
      case 'exit':
        swim.close().then(() => process.exit(0));
        break;
      default:
        out({ ev: 'error', message: `unknown op ${cmd.op}` });
    }
  } catch (err) {
    out({ ev: 'error', message: (err as Error).message });
  }
});
// The parent went away: do not linger.
lines.on('close', () => {
  void swim.close().then(() => process.exit(0));
});
