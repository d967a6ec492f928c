// The README's example runs and prints what it promises.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

t.test('examples/serve runs', async (t) => {
  const script = fileURLToPath(new URL('../examples/serve.js', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 30_000 });
  t.match(stdout, /web-prod\.marathon\.agentip\.dcos -> 10\.0\.0\.21, 10\.0\.0\.22/);
  t.match(stdout, /web-prod\.marathon\.autoip\.dcos -> 10\.0\.0\.22, 9\.0\.1\.2/);
  t.match(stdout, /SRV -> web-9a2b\.web-prod\.marathon\.agentip\.dcos\.thisdcos\.directory:31000/);
  t.match(stdout, /nope\.marathon\.autoip\.dcos -> ENOTFOUND/);
  t.match(stdout, /navstar_queries_total\{transport="udp"\} 6/);
});
