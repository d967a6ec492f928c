// The rules of the repo's test runner (scripts/suites.mjs, which `npm test` uses), proven on a
// repo of fixture workspaces in a temporary folder: compiled tests written by hand, no build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const SUITES = join(repo, 'scripts', 'suites.mjs');

/** The fixture repo: path -> content (JSON for .json files). */
const FILES: Record<string, unknown> = {
  'package.json': { name: 'fixture', private: true, workspaces: ['ws/*'] },
  // `good`: a passing file (one assertion skipped), a file with no assertion, a file that skips
  // itself as a whole, and compiled files whose sources were deleted.
  'ws/good/package.json': workspace('good'),
  'ws/good/test/pass.test.ts': '// the source of dist/test/pass.test.js',
  'ws/good/dist/test/pass.test.js': `import t from 'tap';
t.pass('one');
t.test('sub', async (t) => {
  t.pass('two');
});
t.skip('not yet');
`,
  'ws/good/test/empty.test.ts': '',
  'ws/good/dist/test/empty.test.js': `import t from 'tap';
t.comment('this file runs no assertion');
`,
  'ws/good/test/skipall.test.ts': '',
  'ws/good/dist/test/skipall.test.js': `import t from 'tap';
t.plan(0, 'needs a thing this machine lacks');
`,
  'ws/good/dist/test/stale.test.js': `import t from 'tap';
t.fail('a stale test ran');
`,
  'ws/good/dist/test/stale.test.js.map': '{}',
  'ws/good/dist/test/stale.test.d.ts': 'export {};',
  'ws/good/dist/test/helpers/gone.js': 'export {};',
  'ws/good/dist/bench/old.js': 'export {};',
  // `exits`: every file passes, but tap exits non-zero (its `after` script fails).
  'ws/exits/package.json': workspace('exits', { after: 'after.js' }),
  'ws/exits/after.js': 'process.exit(7);\n',
  'ws/exits/test/ok.test.ts': '',
  'ws/exits/dist/test/ok.test.js': `import t from 'tap';
t.pass('fine');
`,
};

function workspace(name: string, tap: Record<string, unknown> = {}) {
  return {
    name,
    private: true,
    type: 'module',
    scripts: { test: 'tap' },
    // The plugin set of the repo's .taprc, so that tap uses the plugins it has built.
    tap: {
      plugin: ['!@tapjs/typescript'],
      'disable-coverage': true,
      include: ['dist/test/**/*.test.js'],
      exclude: ['**/helpers/**'],
      jobs: 1,
      ...tap,
    },
  };
}

function makeFixture(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'vnet-runner-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(
      join(root, path),
      typeof content === 'string' ? content : JSON.stringify(content),
    );
  }
  // The fixture's files import tap from the repo's node_modules.
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** Runs the runner on the fixture, outside of this tap process's environment. */
function runSuites(root: string, ...only: string[]) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(TAP|_TAPJS|NODE_OPTIONS)/.test(k)),
  );
  const r = spawnSync(process.execPath, [SUITES, '--root', root, ...only], {
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout + r.stderr, last: r.stdout.trimEnd().split('\n').at(-1) };
}

t.test('every rule on one run of all workspaces', async (t) => {
  const root = makeFixture(t);
  const r = runSuites(root);
  t.equal(r.last, '3 passed, 2 failed', 'the closing line counts');
  t.equal(r.code, 1, 'and the exit code says it failed');
  t.match(r.out, /exits \(ws\/exits\): tap exited with code 1 with no failing test/, 'exit code');
  t.match(r.out, /empty\.test\.js: ran no assertion/, 'a file with no assertion fails');
  t.match(r.out, /good dist\/test\/skipall\.test\.js: needs a thing this machine lacks/);
  t.match(r.out, /^skipped: 1 file, 1 assertion$/m, 'skips: the file and the skipped assertion');
  t.notMatch(r.out, /a stale test ran/, 'the stale test did not run');
  const gone = [
    'dist/test/stale.test.js',
    'dist/test/stale.test.js.map',
    'dist/test/stale.test.d.ts',
    'dist/test/helpers',
    'dist/bench/old.js',
  ];
  for (const p of gone) t.notOk(existsSync(join(root, 'ws/good', p)), `${p} removed`);
  t.ok(existsSync(join(root, 'ws/good/dist/test/pass.test.js')), 'a file with a source is kept');
});

t.test('only the workspaces asked for, by folder or name; an unknown one fails', async (t) => {
  const root = makeFixture(t);
  t.equal(runSuites(root, 'ws/exits').last, '1 passed, 1 failed');
  const r = runSuites(root, 'good', 'nonesuch');
  t.equal(r.last, '2 passed, 2 failed');
  t.match(r.out, /nonesuch: no workspace with a test script/);
});
