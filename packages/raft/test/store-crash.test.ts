// Real crashes: a process appending to a LevelStorage is SIGKILLed at random moments, over and
// over on the same store. The check of LevelDB's files must never take what a crash leaves for
// damage, and every write the process saw completed must be there after each restart.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { testSeed } from '@vnet/testkit';
import t from 'tap';
import { Prng } from '../src/core/prng.js';
import { LevelStorage } from '../src/storage/level.js';
import { verifyStoreFiles } from '../src/storage/leveldb-files.js';

const writer = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'store-writer.js');

/** Runs the writer for `ms`, kills it, and returns the last index it reported as written. */
function runAndKill(dir: string, seed: number, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, String(seed)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = 0;
    let timer: NodeJS.Timeout | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      acked = Number(line);
      // start the clock once writing has begun, so that every round kills a writing process
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`the writer exited with ${code ?? signal}`));
    });
  });
}

t.test('SIGKILL during writes: no false alarm, no acknowledged write lost', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'raft-crash-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const seed = testSeed(11);
  const p = new Prng(seed);
  const rounds = Number(process.env.VNET_CRASH_ROUNDS ?? 8);
  let torn = 0;
  let logs = 0;
  for (let round = 0; round < rounds; round++) {
    const acked = await runAndKill(dir, seed * 1000 + round, p.int(20, 400));
    const where = `round ${round} (VNET_SEED=${seed})`;
    const report = await verifyStoreFiles(dir).catch((e: Error) => {
      t.fail(`${where}: a crash taken for damage: ${e.message}`);
      throw e;
    });
    if (report.tornTail) torn++;
    logs += report.logs.length;
    const s = await LevelStorage.open(dir, { nodeId: 'a' });
    const st = (await s.load())!;
    await s.close();
    const indexes = st.entries.map((e) => e.index);
    const last = indexes.at(-1) ?? 0;
    t.ok(
      last >= acked && indexes.every((x, i) => x === i + 1),
      `${where}: entries 1..${last} there, ${acked} acknowledged${report.tornTail ? `; torn tail: ${report.tornTail.reason}` : ''}`,
    );
  }
  t.comment(`${rounds} crashes: ${torn} left a torn tail, ${logs} logs replayed`);
});
