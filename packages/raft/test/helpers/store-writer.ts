// A child process for store-crash.test: appends batches to a LevelStorage as fast as it can,
// printing the last index of each batch once its write is done (fsynced), until it is killed.
//   node store-writer.js DIR SEED
import { Prng } from '../../src/core/prng.js';
import type { Entry } from '../../src/core/types.js';
import { EntryType } from '../../src/core/types.js';
import { LevelStorage } from '../../src/storage/level.js';

const [dir, seedArg] = process.argv.slice(2);
const p = new Prng(Number(seedArg));
const s = await LevelStorage.open(dir!, { nodeId: 'a' });
const st = await s.load();
let last = st?.entries.at(-1)?.index ?? 0;
for (;;) {
  const entries: Entry[] = [];
  // Mostly small batches, some larger; a record that crosses a 32 KiB block is fragmented.
  const n = p.int(1, 5);
  const big = p.chance(0.2);
  for (let k = 0; k < n; k++) {
    last++;
    const data = Buffer.alloc(big ? p.int(2_000, 20_000) : p.int(10, 300), last & 0xff);
    entries.push({ index: last, term: 1, type: EntryType.Normal, data });
  }
  await s.save({ entries, hardState: { term: 1, vote: 'a', commit: last }, sync: true });
  process.stdout.write(`${last}\n`);
}
