import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const FIXTURE = fileURLToPath(new URL('./fixtures/needs-root.js', import.meta.url));

/** The fixture run with process.getuid() answering `uid` (what requireRoot asks). */
function runFixture(uid: number) {
  const asUser = `data:text/javascript,process.getuid = () => ${uid};`;
  return spawnSync(process.execPath, ['--import', asUser, FIXTURE], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
}

t.test(
  'a file that needs root skips itself as a whole, with the reason, for anyone else',
  async (t) => {
    const r = runFixture(65534);
    t.equal(r.status, 0, 'exits 0');
    t.match(r.stdout, /^1\.\.0 # needs root: a fixture that needs root$/m, "tap's skip-all plan");
    t.notMatch(r.stdout, /ran as root/, 'nothing after requireRoot ran');
  },
);

t.test('as root, the file runs', async (t) => {
  const r = runFixture(0);
  t.equal(r.status, 0);
  t.match(r.stdout, /^ok 1 - ran as root$/m);
});
