// The adapter of networks.ts: reads dockerd's networks and carries out a plan through the
// Engine API. A network cannot be edited in place, so a fix is: disconnect its containers
// (forced, stopped ones too), remove it, create it right, connect them again (they get addresses
// of the new half).
import type { Logger } from 'pino';
import type { DockerEngine } from './engine.js';
import {
  createNetworkBody,
  type DockerNetwork,
  type NetworkAction,
  readNetwork,
} from './networks.js';

export async function listNetworks(engine: DockerEngine): Promise<DockerNetwork[]> {
  const list = await engine.call('GET', '/networks');
  return (Array.isArray(list) ? list : []).flatMap((v) => readNetwork(v) ?? []);
}

/** Ids of the containers, running or not, attached to a network. */
async function attached(engine: DockerEngine, networkId: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ network: [networkId] }));
  const list = await engine.call('GET', `/containers/json?all=1&filters=${filters}`);
  return (Array.isArray(list) ? list : []).flatMap((c) =>
    typeof c?.Id === 'string' ? [c.Id as string] : [],
  );
}

async function detachAll(engine: DockerEngine, id: string, log: Logger): Promise<string[]> {
  const containers = await attached(engine, id);
  for (const c of containers) {
    try {
      await engine.call('POST', `/networks/${id}/disconnect`, { Container: c, Force: true });
    } catch (e) {
      log.warn(
        { container: c.slice(0, 12), err: (e as Error).message },
        'docker: disconnect failed',
      );
    }
  }
  return containers;
}

/** Carries out one action; throws what dockerd answered when a step fails. */
export async function applyNetworkAction(
  engine: DockerEngine,
  action: NetworkAction,
  log: Logger,
): Promise<void> {
  if (action.kind === 'create') {
    await engine.call('POST', '/networks/create', createNetworkBody(action.spec));
    log.info({ network: action.spec.name, bridge: action.spec.bridge }, 'docker: network created');
    return;
  }
  const name = action.kind === 'remove' ? action.name : action.spec.name;
  const containers = await detachAll(engine, action.id, log);
  await engine.call('DELETE', `/networks/${action.id}`);
  if (action.kind === 'remove') {
    log.info(
      { network: name, reason: action.reason, disconnected: containers.length },
      'docker: network removed',
    );
    return;
  }
  const created = (await engine.call(
    'POST',
    '/networks/create',
    createNetworkBody(action.spec),
  )) as {
    Id?: string;
  };
  const newId = created?.Id ?? name;
  let reconnected = 0;
  for (const c of containers) {
    try {
      await engine.call('POST', `/networks/${newId}/connect`, { Container: c });
      reconnected++;
    } catch (e) {
      log.warn(
        { container: c.slice(0, 12), err: (e as Error).message },
        'docker: reconnect failed',
      );
    }
  }
  const fields = {
    network: name,
    differences: action.reasons,
    containers: containers.length,
    reconnected,
  };
  if (action.foreign) {
    log.error(
      fields,
      `docker: network ${name} was not created by vnet and differs from the overlay's: taken over ` +
        '(removed and created again on its Docker half; its containers were reconnected)',
    );
  } else {
    log.warn(fields, `docker: network ${name} differed from the overlay's: re-created`);
  }
}
