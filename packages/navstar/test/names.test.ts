import t from 'tap';
import { taskLabel, toLabel } from '../src/names.js';
import { normalizeTask, TaskRecordError } from '../src/zone/records.js';

t.test('labels follow the upstream rules', async (t) => {
  t.equal(toLabel('MyApp'), 'myapp', 'lower-cased');
  t.equal(toLabel('my_app.v2'), 'my-app-v2', '_ and . become -');
  t.equal(toLabel('a b/c@d'), 'a-b-c-d', 'every other character becomes -');
  t.equal(
    toLabel('Ünïcode'),
    '-n-code'.replace(/^-+/, ''),
    'non-ASCII letters become - (then leading - is trimmed)',
  );
  t.equal(toLabel('--x--'), 'x', 'leading and trailing - removed');
  t.equal(toLabel('___'), '', 'nothing usable');
  t.equal(toLabel('x'.repeat(80)), 'x'.repeat(63), 'at most 63 characters');
  t.equal(toLabel(`${'x'.repeat(62)}-y`), 'x'.repeat(62), 'a - left at the cut is trimmed');
});

t.test('Marathon group paths read leaf first', async (t) => {
  t.equal(taskLabel('/group/app'), 'app-group');
  t.equal(taskLabel('/a/b/c'), 'c-b-a');
  t.equal(taskLabel('/app'), 'app');
  t.equal(taskLabel('app.group'), 'app-group', 'the Mesos task name of /group/app gives the same');
  t.equal(taskLabel('/Prod/Web_Frontend'), 'web-frontend-prod');
});

t.test('task records are validated with messages naming the field', async (t) => {
  const ok = { id: 'a.1', name: '/g/a', framework: 'marathon', agentIp: '10.0.0.1' };
  const n = normalizeTask({
    ...ok,
    containerIps: ['FD01:B::0:2', '9.0.0.2'],
    ports: [{ containerPort: 80, name: 'HTTP' }],
  });
  t.equal(n.taskLabel, 'a-g');
  t.equal(n.instanceLabel, 'a-1');
  t.same(n.containerIps, ['fd01:b::2', '9.0.0.2'], 'addresses canonical');
  t.same(
    n.ports,
    [{ name: 'http', protocol: 'tcp', containerPort: 80, hostPort: undefined }],
    'tcp by default',
  );
  t.equal(
    normalizeTask({ ...ok, discoveryName: 'Other' }).taskLabel,
    'other',
    'discovery name wins',
  );
  const bad: Array<[object, RegExp]> = [
    [{ ...ok, id: '' }, /id: expected a non-empty string/],
    [
      { ...ok, agentIp: '10.0.0.256' },
      /task "a.1": agentIp: "10.0.0.256" is not an IPv4 or IPv6 address/,
    ],
    [{ ...ok, containerIps: ['9.0.0.1', 'nope'] }, /containerIps\[1\]: "nope"/],
    [{ ...ok, containerIps: '9.0.0.1' }, /containerIps: expected an array/],
    [{ ...ok, ports: [{ containerPort: 0 }] }, /ports\[0\].containerPort: 0 is not a port number/],
    [{ ...ok, ports: [{ hostPort: 70000 }] }, /ports\[0\].hostPort: 70000/],
    [{ ...ok, ports: [{ protocol: 'sctp', containerPort: 1 }] }, /ports\[0\].protocol: "sctp"/],
    [{ ...ok, ports: [{}] }, /ports\[0\]: needs a containerPort or a hostPort/],
    [{ ...ok, name: '***' }, /name: "\*\*\*" has no character usable/],
    [{ ...ok, framework: 7 }, /framework: expected a string/],
  ];
  for (const [rec, re] of bad) {
    t.throws(() => normalizeTask(rec as never), re);
    t.throws(() => normalizeTask(rec as never), TaskRecordError);
  }
});
