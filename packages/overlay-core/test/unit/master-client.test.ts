// MasterClient against real gRPC servers in this process playing masters: a call moves on to the
// next master only on the statuses that mean "try elsewhere", an answer is final, and a master
// that comes back up (its channel ready again) is noticed, which is what cuts an agent's
// registration backoff short after an outage.
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { MasterCallError, MasterClient } from '../../src/api/client.js';
import { Ipam } from '../../src/ipam/ipam.js';
import { allocationMessage } from '../../src/master/render.js';
import { ERRORS, grpcStatusOf, MasterError } from '../../src/protocol/errors.js';
import { type OverlayMasterHandlers, overlayMasterService } from '../../src/protocol/messages.js';
import { dcosDefault } from '../helpers/configs.js';

/** A master that answers Register with `answer` (a MasterError is sent as its status). */
async function fakeMaster(
  answer: () => MasterError | undefined,
  port = 0,
): Promise<{ address: string; port: number; stop: () => void }> {
  const ipam = new Ipam(dcosDefault());
  const server = new grpc.Server();
  const handlers: OverlayMasterHandlers = {
    Register: (call, cb) => {
      const e = answer();
      if (e) return cb(grpcStatusOf(e));
      ipam.register(call.request.ip!);
      cb(null, allocationMessage(ipam, call.request.ip!, 1));
    },
    ReportStatus: (_call, cb) => cb(null, { changed: false }),
    Watch: (call) => call.end(),
    WatchMasters: (call) => call.end(),
  };
  server.addService(overlayMasterService(), handlers);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${bound}`, port: bound, stop: () => server.forceShutdown() };
}

t.test('"try elsewhere" statuses move to the next master; answers are final', async (t) => {
  const down = await fakeMaster(() => new MasterError('UNAVAILABLE', 'no quorum here'));
  const up = await fakeMaster(() => undefined);
  t.teardown(() => {
    down.stop();
    up.stop();
  });
  const client = new MasterClient([down.address, up.address]);
  t.teardown(() => client.close());
  const a = await client.register('10.0.0.1', true);
  t.equal(a.agent?.ip, '10.0.0.1');
  t.equal(client.master, up.address, 'it stays with the master that answered');
  t.equal(client.failovers, 1);

  const refusing = await fakeMaster(() => new MasterError('INVALID_NODE_IP', 'ip: bad'));
  t.teardown(() => refusing.stop());
  const strict = new MasterClient([refusing.address, up.address]);
  t.teardown(() => strict.close());
  const err = await strict.register('10.0.0.2', true).catch((e) => e);
  t.ok(err instanceof MasterCallError);
  t.equal(err.code, ERRORS.INVALID_NODE_IP.grpc);
  t.equal(strict.failovers, 0, 'an answer is not retried elsewhere');
});

t.test('a master coming back is noticed', async (t) => {
  let m = await fakeMaster(() => undefined);
  const port = m.port;
  const client = new MasterClient([m.address], { reconnectMaxMs: 200 });
  t.teardown(() => client.close());
  await client.register('10.0.0.1', true);
  m.stop();
  const ups: string[] = [];
  const stop = client.watchReconnects((master) => ups.push(master));
  t.teardown(stop);
  await new Promise((r) => setTimeout(r, 500));
  t.same(ups, [], 'nothing while it is down');
  m = await fakeMaster(() => undefined, port);
  t.teardown(() => m.stop());
  for (let i = 0; i < 250 && ups.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.same(ups, [m.address], 'its return is reported');
});
