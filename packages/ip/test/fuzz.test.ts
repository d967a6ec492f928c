// Every text parser on random, mutated and well-formed strings: never throws, and agrees with
// Node's net.isIP and ip-address (helpers/reference.ts) on validity and value.
import t from 'tap';
import * as ip from '../src/index.js';
import { checkParsers } from './helpers/checks.js';
import { seeded } from './helpers/random.js';

t.test('parsers agree with the references (seeded)', async (t) => {
  const r = seeded(t);
  t.same(checkParsers(r, 100_000, ip), []);
});
