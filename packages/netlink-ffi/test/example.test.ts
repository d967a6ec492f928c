// The README's example runs as documented and cleans up after itself.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requireRoot } from '@vnet/testkit';
import t from 'tap';

requireRoot(t, 'the example builds a VXLAN device in a network namespace');

t.test(
  'examples/vxlan-bridge builds a VXLAN device and a bridge in a fresh namespace',
  async (t) => {
    const script = fileURLToPath(new URL('../examples/vxlan-bridge.js', import.meta.url));
    const before = new Set(readdirSync('/var/run/netns'));
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8' });
    t.match(out, /replace neighbour: ok\nreplace fdb: ok\nreplace nexthop: ok\nreplace route: ok/);
    t.match(out, /vtep1024 #\d+ vxlan mtu 1450 70:b3:d5:80:00:01 up=true/);
    t.match(out, /vxlan id 1024 port 64000 local 192\.168\.50\.1 learning false/);
    t.match(out, /link \d+: m-demo \(bridge\)/);
    t.match(out, /nexthop 2 via 44\.128\.0\.2 onlink/);
    t.match(out, /route 9\.0\.1\.0\/24 nhid 2 via 44\.128\.0\.2 onlink/);
    t.match(out, /expected: add link vtep1024 type vxlan id 7: EEXIST/);
    t.same(
      readdirSync('/var/run/netns').filter((n) => n.startsWith('nl-example-') && !before.has(n)),
      [],
      'its namespace is gone',
    );
  },
);
