// The README's example runs and prints what its comments say.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

t.test('examples/addresses prints what its comments say', async (t) => {
  const script = fileURLToPath(new URL('../examples/addresses.js', import.meta.url));
  const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
  t.match(
    out,
    /^746586119 44\.128\.0\.8\nfd01:b::3\n::ffff:192\.0\.2\.128\nundefined 70:b3:d5:80:00:02\n2001:db8::1\n/,
  );
  t.match(out, /ip: 'fd01:b::1',\s+text: 'fd01:b::1\/64'/);
  t.match(out, /\}\nundefined\n$/);
});
