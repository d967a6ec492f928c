// Three members on 127.0.0.1 in one process: they join, each publishes a record bound to its own
// liveness, one of them watches the records, then a member leaves and its record disappears.
//
//   npm run build && npm run example -w @vnet/swim
import { createSwim, type StoreEvent, type Swim } from '../src/index.js';

const members: Swim[] = [];
for (const name of ['alpha', 'beta', 'gamma']) {
  members.push(
    await createSwim({
      name,
      bindAddr: '127.0.0.1',
      bindPort: 0, // any free port; `address` tells which
      profile: 'local',
      meta: { role: name === 'alpha' ? 'seed' : 'worker' },
    }),
  );
}
const [alpha, beta, gamma] = members as [Swim, Swim, Swim];

alpha.on('join', (m) =>
  console.log(`alpha: ${m.name} joined from ${m.addr} (meta ${JSON.stringify(m.meta)})`),
);
alpha.on('leave', (m) => console.log(`alpha: ${m.name} left`));

// A watcher: a snapshot first, then every change under the prefix.
const show = (ev: StoreEvent) => {
  if (ev.type === 'snapshot') console.log(`alpha: snapshot of ${ev.entries.length} record(s)`);
  else if (ev.type === 'put')
    console.log(
      `alpha: ${ev.entry.key} = ${JSON.stringify(ev.entry.value)} (owner ${ev.entry.owner})`,
    );
  else console.log(`alpha: ${ev.key} removed`);
};
alpha.store.subscribe('records/', show);

await beta.join([alpha.address]);
await gamma.join([alpha.address]);

// Each member publishes a record bound to its own liveness.
for (const m of members) {
  m.store.put(
    `records/${m.name}`,
    { addr: m.address, since: new Date().toISOString() },
    { bound: true },
  );
}
await new Promise((r) => setTimeout(r, 1000));
console.log(
  `beta sees members ${beta
    .members()
    .map((m) => m.name)
    .join(', ')}`,
);
console.log(`gamma holds ${gamma.store.entries('records/').length} records`);

// A graceful leave: everyone learns at once, and gamma's bound record vanishes everywhere.
await gamma.leave();
await new Promise((r) => setTimeout(r, 500));
console.log(
  `beta now holds ${beta.store
    .entries('records/')
    .map((e) => e.key)
    .join(', ')}`,
);

await Promise.all([alpha.close(), beta.close()]);
