// The Docker side of an agent, as one handle: the agent says which networks the node should have
// (`setNetworks(desiredDocker(allocation))` on every allocation change) and gets the containers
// on them as tasks through its TaskSink. Networks are reconciled on a change, when dockerd's
// event stream (re)opens (a dockerd restart), when someone creates or removes a network of one
// of vnet's names, and periodically; a failure (dockerd down) is retried with backoff. Nothing
// here throws into the agent: Docker being absent or broken shows in `status()`, logs and metrics.
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { Backoff, type BackoffSettings } from '../agent/backoff.js';
import type { TaskSink } from '../protocol/task-record.js';
import { DEFAULT_DOCKER_HOST, DockerEngine, parseDockerHost } from './engine.js';
import {
  applyIsolationBypass,
  type CommandRunner,
  commandRunner,
  type IsolationState,
} from './isolation.js';
import { DockerMetrics } from './metrics.js';
import { applyNetworkAction, listNetworks } from './network-sync.js';
import { type DockerDesired, planNetworks } from './networks.js';
import { DockerWatcher } from './watcher.js';

export interface DockerIntegrationOptions {
  /** `unix:///path` or `tcp://host:port` (default unix:///var/run/docker.sock). */
  dockerHost?: string;
  sink: TaskSink;
  log: Logger;
  /** The agent's metrics registry (default: a registry of its own). */
  registry?: Registry;
  /** Runs iptables commands (default: directly; tests enter dockerd's namespace). */
  commands?: CommandRunner;
  /** Retries while dockerd is away (default 0.5 s doubling to 30 s, jittered). */
  backoff?: BackoffSettings;
  /** Periodic network check and task resync (default 30 s). */
  intervalMs?: number;
}

export interface DockerNetworkStatus {
  name: string;
  ok: boolean;
  error?: string;
}

export interface DockerStatus {
  /** Following dockerd's event stream. */
  connected: boolean;
  /** Desired networks, each with the outcome of the last reconcile. */
  networks: DockerNetworkStatus[];
  /** Per family: VNET-DOCKER in place, or dockerd does not manage that family's iptables. */
  isolation: { ipv4?: IsolationState; ipv6?: IsolationState; error?: string };
  tasks: number;
  /** Network reconcile runs that completed without error. */
  reconciles: number;
  lastError?: string;
}

export interface DockerIntegration {
  /** What the node's Docker should hold (replaces the previous; idempotent). */
  setNetworks(desired: DockerDesired): void;
  status(): DockerStatus;
  stop(): Promise<void>;
}

const DEFAULT_BACKOFF: BackoffSettings = { initialMs: 500, maxMs: 30_000 };
/** Events come in bursts (a network removed then created): one reconcile for the burst. */
const COALESCE_MS = 250;

/**
 * Starts following dockerd (throws only for a malformed `dockerHost`). Networks are left alone
 * until the first `setNetworks`.
 */
export function startDockerIntegration(o: DockerIntegrationOptions): DockerIntegration {
  const engine = new DockerEngine(parseDockerHost(o.dockerHost ?? DEFAULT_DOCKER_HOST));
  const log = o.log.child({ component: 'docker' });
  const metrics = new DockerMetrics(o.registry ?? new Registry());
  const commands = o.commands ?? commandRunner();
  const intervalMs = o.intervalMs ?? 30_000;
  const backoff = new Backoff(o.backoff ?? DEFAULT_BACKOFF);
  let desired: DockerDesired | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const st: DockerStatus = {
    connected: false,
    networks: [],
    isolation: {},
    tasks: 0,
    reconciles: 0,
  };

  const watcher = new DockerWatcher({
    engine,
    sink: o.sink,
    log,
    metrics,
    backoff: o.backoff ?? DEFAULT_BACKOFF,
    resyncIntervalMs: intervalMs,
    onConnect: () => kick(0),
    onNetworkChange: () => kick(COALESCE_MS),
  });

  function schedule(ms: number): void {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => void reconcile(), ms);
  }

  /** A reconcile soon; during one, another right after it. */
  function kick(ms: number): void {
    if (running) again = true;
    else schedule(ms);
  }

  async function reconcileOnce(want: DockerDesired): Promise<void> {
    const plan = planNetworks(want.networks, await listNetworks(engine));
    const failed = new Map<string, string>();
    for (const action of plan) {
      const name = action.kind === 'remove' ? action.name : action.spec.name;
      try {
        await applyNetworkAction(engine, action, log);
        metrics.networkFixes.inc({
          action: action.kind === 'recreate' && action.foreign ? 'takeover' : action.kind,
        });
      } catch (e) {
        metrics.errors.inc({ op: action.kind });
        failed.set(name, (e as Error).message);
        log.error(
          { network: name, err: (e as Error).message },
          `docker: could not ${action.kind} network`,
        );
      }
    }
    st.networks = want.networks.map((s) => ({
      name: s.name,
      ok: !failed.has(s.name),
      ...(failed.has(s.name) && { error: failed.get(s.name) }),
    }));
    st.isolation = {};
    try {
      st.isolation.ipv4 = await applyIsolationBypass(commands, 4, want.overlays4);
      if (want.overlays6.length)
        st.isolation.ipv6 = await applyIsolationBypass(commands, 6, want.overlays6);
    } catch (e) {
      metrics.errors.inc({ op: 'iptables' });
      st.isolation.error = (e as Error).message;
      log.error(
        { err: st.isolation.error },
        'docker: could not let overlay traffic pass DOCKER-USER',
      );
    }
    if (failed.size || st.isolation.error)
      throw new Error([...failed.values(), st.isolation.error].filter(Boolean).join('; '));
  }

  async function reconcile(): Promise<void> {
    if (stopped || !desired || running) return;
    const want = desired;
    running = (async () => {
      try {
        await reconcileOnce(want);
        st.reconciles++;
        delete st.lastError;
        backoff.reset();
        schedule(intervalMs);
      } catch (e) {
        const repeated = st.lastError === (e as Error).message;
        st.lastError = (e as Error).message;
        const wait = backoff.next();
        log[repeated ? 'debug' : 'warn'](
          { err: st.lastError, retryInMs: wait },
          'docker: networks not reconciled',
        );
        schedule(wait);
      }
    })();
    await running;
    running = undefined;
    if (again) {
      again = false;
      schedule(0);
    }
  }

  return {
    setNetworks(next) {
      desired = next;
      watcher.setNetworks(next.networks);
      watcher.start();
      kick(0);
    },
    status() {
      return { ...st, connected: watcher.connected, tasks: watcher.taskCount };
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await watcher.stop();
    },
  };
}
