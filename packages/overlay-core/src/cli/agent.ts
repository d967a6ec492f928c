// `vnet agent ...`: runs a node's overlay agent until SIGTERM or SIGINT. Stopping it leaves the
// kernel as it is (traffic keeps flowing); a restarted agent reconciles without flushing.
import { PROFILES, type ProfileName } from '@vnet/swim';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { RunningAgent } from '../agent/daemon.js';
import { DEFAULT_CNI_DATA_DIR, DEFAULT_TASK_SOCKET } from '../cni/conflist.js';
import { DEFAULT_CNI_CONF_DIR } from '../cni/exec.js';
import { parseDockerHost } from '../docker/engine.js';
import type { HostPort } from '../net/host-port.js';
import { readKeyringFile } from '../security/keyring.js';
import { loadTlsDir } from '../security/tls.js';
import { readTokenFile } from '../security/token.js';
import {
  hostPortOption,
  hostPortsFlag,
  ipv4Flag,
  ipv4sFlag,
  millisFlag,
  portFlag,
  resolversFlag,
} from './flags.js';
import { createLogger, LOG_LEVELS } from './logger.js';

interface AgentFlags {
  ip: string;
  masters: HostPort[];
  bridges: boolean;
  dataDir: string;
  http: HostPort;
  gossipPort: number;
  gossipSeeds?: HostPort[];
  gossipProfile: ProfileName;
  keyringFile?: string;
  tlsDir?: string;
  tokenFile?: string;
  registerBackoffMs: number;
  registerBackoffMaxMs: number;
  withdrawGraceMs: number;
  reconcileIntervalMs: number;
  dns: boolean;
  dnsPort: number;
  dnsListen: string[];
  dnsUpstream?: string[];
  dnsSearch?: string[];
  cni: boolean;
  cniConfDir: string;
  cniDataDir: string;
  taskSocket: string;
  dockerHost?: string;
  logLevel: string;
}

function dockerHostFlag(value: string): string {
  try {
    parseDockerHost(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--docker-host /, ''));
  }
  return value;
}

const domainsFlag = (value: string): string[] =>
  value
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);

export function addAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      "run a node's overlay agent: registers with the masters, joins the gossip group, and programs vtep1024, the bridges, NAT and a route, ARP and FDB entry per other node",
    )
    .requiredOption('--ip <address>', "the node's underlay IPv4 address (its identity)", ipv4Flag)
    .requiredOption('--masters <host:port,...>', "every master's gRPC address", hostPortsFlag)
    .option('--no-bridges', 'a master host: a VTEP and a subnet per overlay, no bridges')
    .option('--data-dir <dir>', 'where the agent keeps its last allocation', '/var/lib/vnet/agent')
    .addOption(
      hostPortOption(
        '--http <host:port>',
        'HTTP API (/overlay-agent/overlay, /health, /metrics)',
        '0.0.0.0:8090',
      ),
    )
    .option('--gossip-port <port>', 'UDP and TCP port of the gossip group, on --ip', portFlag, 7946)
    .option(
      '--gossip-seeds <host:port,...>',
      "seeds of the gossip group (default: the masters' hosts at --gossip-port)",
      hostPortsFlag,
    )
    .addOption(
      new Option(
        '--gossip-profile <name>',
        "failure-detection timing: @vnet/swim's profiles (memberlist's lan, wan and local, and swim's responsive)",
      )
        .choices(Object.keys(PROFILES))
        .default('lan'),
    )
    .option(
      '--keyring-file <file>',
      'encrypt gossip: base64 AES-256 keys, one per line, primary first',
    )
    .option('--tls-dir <dir>', 'mutual TLS to the masters: ca.pem, cert.pem, key.pem')
    .option('--token-file <file>', "the masters' bearer token")
    .option(
      '--register-backoff-ms <ms>',
      'first registration retry waits up to this (doubling)',
      millisFlag,
      5000,
    )
    .option(
      '--register-backoff-max-ms <ms>',
      'the longest registration backoff (a master that is reachable again cuts it short)',
      millisFlag,
      60_000,
    )
    .option(
      '--withdraw-grace-ms <ms>',
      "how long a vanished node's routes stay before they are withdrawn",
      millisFlag,
      30_000,
    )
    .option('--reconcile-interval-ms <ms>', 'full reconcile period', millisFlag, 120_000)
    .option('--no-dns', "do not run navstar (the tasks' DNS) on this node")
    .option('--dns-port <port>', 'UDP and TCP port of navstar on every address', portFlag, 53)
    .addOption(
      new Option(
        '--dns-listen <ip,...>',
        "addresses navstar serves besides every bridge's gateway (e.g. 127.0.0.1)",
      )
        .argParser(ipv4sFlag)
        .default([], 'none'),
    )
    .option(
      '--dns-upstream <ip[:port],...>',
      'resolvers of every other name (default: the nameservers of /etc/resolv.conf)',
      resolversFlag,
    )
    .option(
      '--dns-search <domain,...>',
      "search domains in the containers' resolv.conf",
      domainsFlag,
    )
    .option('--no-cni', 'write no CNI config lists and open no task socket')
    .option('--cni-conf-dir <dir>', 'where the CNI config lists go', DEFAULT_CNI_CONF_DIR)
    .option(
      '--cni-data-dir <dir>',
      "host-local's leases (keep it on tmpfs: no orphaned leases after a reboot)",
      DEFAULT_CNI_DATA_DIR,
    )
    .option(
      '--task-socket <path>',
      "the unix socket vnet's CNI plugin reports tasks to",
      DEFAULT_TASK_SOCKET,
    )
    .option(
      '--docker-host <url>',
      "manage this Docker daemon's networks and publish its containers (unix:///var/run/docker.sock or tcp://host:port)",
      dockerHostFlag,
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .action(async (flags: AgentFlags) => {
      const logger = await createLogger('vnet-agent', flags.logLevel);
      // The daemon (gRPC, netlink, navstar) loads only for this command: the others start fast.
      const { AgentStartError, startAgent } = await import('../agent/daemon.js');
      let agent: RunningAgent;
      try {
        if (flags.registerBackoffMaxMs < flags.registerBackoffMs) {
          throw new AgentStartError(
            '--register-backoff-max-ms is shorter than --register-backoff-ms',
          );
        }
        const keyring = flags.keyringFile ? await readKeyringFile(flags.keyringFile) : undefined;
        agent = await startAgent({
          ip: flags.ip,
          masters: flags.masters,
          bridges: flags.bridges,
          dataDir: flags.dataDir,
          http: flags.http,
          gossipPort: flags.gossipPort,
          ...(flags.gossipSeeds && { gossipSeeds: flags.gossipSeeds }),
          ...(keyring && { keyring }),
          ...(flags.tlsDir !== undefined && { tls: await loadTlsDir(flags.tlsDir) }),
          ...(flags.tokenFile !== undefined && { token: await readTokenFile(flags.tokenFile) }),
          backoff: { initialMs: flags.registerBackoffMs, maxMs: flags.registerBackoffMaxMs },
          withdrawGraceMs: flags.withdrawGraceMs,
          reconcileIntervalMs: flags.reconcileIntervalMs,
          gossipProfile: flags.gossipProfile,
          ...(flags.dns && {
            dns: {
              port: flags.dnsPort,
              listen: flags.dnsListen,
              ...(flags.dnsUpstream && { upstreams: flags.dnsUpstream }),
            },
          }),
          ...(flags.cni && {
            cni: {
              confDir: flags.cniConfDir,
              dataDir: flags.cniDataDir,
              socket: flags.taskSocket,
              ...(flags.dnsSearch && { search: flags.dnsSearch }),
            },
          }),
          ...(flags.dockerHost !== undefined && { dockerHost: flags.dockerHost }),
          logger,
        });
      } catch (e) {
        logger.fatal({ err: e }, 'overlay agent could not start');
        process.stderr.write(`vnet agent: ${(e as Error).message}\n`);
        process.exit(e instanceof AgentStartError ? 2 : 1);
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'stopping; the kernel keeps what was programmed');
          agent.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      logger.info('stopped');
      process.exit();
    });
}
