import t from 'tap';
import { runOkSync, runSync } from '../src/exec.js';
import { ExecError, parseJsonOutput, run, runOk, showCommand } from '../src/index.js';

t.test('showCommand quotes what a shell would need quoted', async (t) => {
  t.equal(showCommand(['ip', '-n', 'vc1-1-h1', 'addr']), 'ip -n vc1-1-h1 addr');
  t.equal(showCommand(['sh', '-c', "echo 'hi' there"]), `sh -c 'echo '\\''hi'\\'' there'`);
});

t.test('run and runSync collect output and exit codes; the Ok forms throw', async (t) => {
  const r = await run(['sh', '-c', 'read x; echo "got $x"; echo oops >&2; exit 3'], {
    input: 'in\n',
  });
  t.match(r, { code: 3, stdout: 'got in\n', stderr: 'oops\n', timedOut: false });
  t.match(runSync(['sh', '-c', 'cat; exit 2'], 'abc'), { code: 2, stdout: 'abc' });
  t.equal(runOkSync(['echo', 'hi']), 'hi\n');
  t.throws(() => runOkSync(['sh', '-c', 'echo bad >&2; exit 4']), {
    name: 'ExecError',
    message: "sh -c 'echo bad >&2; exit 4' exited with 4:\nbad",
  });
  await t.rejects(runOk(['false'], {}, ' (in h1)'), { message: 'false (in h1) exited with 1' });
  const slow = await run(['sleep', '5'], { timeoutMs: 100 });
  t.ok(slow.timedOut, 'killed after its timeout');
  t.ok(new ExecError(['x'], slow) instanceof Error);
  await t.rejects(run(['/nonexistent/cmd']), /could not start/);
});

t.test('parseJsonOutput: iproute2 prints nothing for an empty list', async (t) => {
  t.same(parseJsonOutput('', ['ip', '-j', 'link']), []);
  t.same(parseJsonOutput('[{"a":1}]\n', ['ip']), [{ a: 1 }]);
  t.throws(() => parseJsonOutput('nope', ['ip', '-j', 'x']), /ip -j x printed no JSON/);
});
