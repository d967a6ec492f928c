// A gossip member that publishes the DNS bench's tasks as its own task records, the way an agent
// does (bound to its liveness), then stays until SIGTERM. Run inside a host of the cluster:
//   node dist/bench/task-publisher.js IP PORT SEED_HOST:PORT COUNT
import { taskKey } from '@vnet/overlay-core';
import { createSwim } from '@vnet/swim';
import { benchTasks } from './dns-workload.js';

const [ip, port, seed, count] = process.argv.slice(2);
if (!ip || !port || !seed || !count) {
  process.stderr.write('usage: task-publisher IP PORT SEED_HOST:PORT COUNT\n');
  process.exit(2);
}
const swim = await createSwim({ name: ip, bindAddr: ip, bindPort: Number(port), profile: 'lan' });
await swim.join([seed]);
for (const task of benchTasks(Number(count), ip)) {
  swim.store.put(taskKey(ip, task.id), task, { bound: true });
}
process.stdout.write(`published ${count}\n`);
process.once('SIGTERM', () => {
  void swim.close().then(() => process.exit(0));
});
