// `vnet agent ...`: runs a node's overlay agent until SIGTERM or SIGINT. Stopping it leaves the
// kernel as it is (traffic keeps flowing); a restarted agent reconciles without flushing.
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { AgentStartError, startAgent } from '../agent/daemon.js';
import { readTokenFile } from '../master/token.js';
import { parseAddress } from '../net/cidr.js';
import { createLogger, LOG_LEVELS } from './logger.js';
import { parseHostPort } from './master.js';
import { loadTlsDir } from './tls.js';

function ipv4(value: string): string {
  if (parseAddress(value, 4) === undefined) {
    throw new InvalidArgumentError(`"${value}" is not an IPv4 address`);
  }
  return value;
}

function hostPorts(value: string): string[] {
  return value.split(',').map((v) => parseHostPort(v.trim()));
}

function millis(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive number of milliseconds`);
  }
  return Number(value);
}

function port(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a port`);
  }
  return n;
}

interface AgentFlags {
  ip: string;
  masters: string[];
  bridges: boolean;
  dataDir: string;
  http: string;
  gossipPort: number;
  gossipSeeds?: string[];
  gossipProfile: 'lan' | 'wan' | 'local';
  keyringFile?: string;
  tlsDir?: string;
  tokenFile?: string;
  registerBackoffMs: number;
  registerBackoffMaxMs: number;
  withdrawGraceMs: number;
  reconcileIntervalMs: number;
  logLevel: string;
}

const PROFILES: Record<string, Record<string, number>> = {
  lan: {},
  wan: { probeInterval: 5000, probeTimeout: 3000, suspicionMult: 6, gossipInterval: 500 },
  local: { probeInterval: 1000, probeTimeout: 200, suspicionMult: 3, gossipInterval: 100 },
};

export function addAgentCommand(program: Command): void {
  program
    .command('agent')
    .description(
      "run a node's overlay agent: registers with the masters, joins the gossip group, and programs vtep1024, the bridges, NAT and a route, ARP and FDB entry per other node",
    )
    .requiredOption('--ip <address>', "the node's underlay IPv4 address (its identity)", ipv4)
    .requiredOption('--masters <host:port,...>', "every master's gRPC address", hostPorts)
    .option('--no-bridges', 'a master host: a VTEP and a subnet per overlay, no bridges')
    .option('--data-dir <dir>', 'where the agent keeps its last allocation', '/var/lib/vnet/agent')
    .option(
      '--http <host:port>',
      'HTTP API (/overlay-agent/overlay, /health, /metrics)',
      parseHostPort,
      '0.0.0.0:8090',
    )
    .option('--gossip-port <port>', 'UDP and TCP port of the gossip group, on --ip', port, 7946)
    .option(
      '--gossip-seeds <host:port,...>',
      "seeds of the gossip group (default: the masters' hosts at --gossip-port)",
      hostPorts,
    )
    .addOption(
      new Option('--gossip-profile <name>', 'failure-detection timing (memberlist profiles)')
        .choices(['lan', 'wan', 'local'])
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
      millis,
      5000,
    )
    .option('--register-backoff-max-ms <ms>', 'the longest registration backoff', millis, 600_000)
    .option(
      '--withdraw-grace-ms <ms>',
      "how long a vanished node's routes stay before they are withdrawn",
      millis,
      30_000,
    )
    .option('--reconcile-interval-ms <ms>', 'full reconcile period', millis, 120_000)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .action(async (flags: AgentFlags) => {
      const logger = createLogger('vnet-agent', flags.logLevel);
      let agent: Awaited<ReturnType<typeof startAgent>>;
      try {
        if (flags.registerBackoffMaxMs < flags.registerBackoffMs) {
          throw new AgentStartError(
            '--register-backoff-max-ms is shorter than --register-backoff-ms',
          );
        }
        const [host, portText] = [
          flags.http.slice(0, flags.http.lastIndexOf(':')),
          flags.http.slice(flags.http.lastIndexOf(':') + 1),
        ];
        const keyring = flags.keyringFile
          ? (await readFile(flags.keyringFile, 'utf8'))
              .split('\n')
              .map((l) => l.trim())
              .filter(Boolean)
          : undefined;
        agent = await startAgent({
          ip: flags.ip,
          masters: flags.masters,
          bridges: flags.bridges,
          dataDir: flags.dataDir,
          http: { host: host.replace(/^\[|\]$/g, ''), port: Number(portText) },
          gossipPort: flags.gossipPort,
          ...(flags.gossipSeeds && { gossipSeeds: flags.gossipSeeds }),
          ...(keyring && { keyring }),
          ...(flags.tlsDir !== undefined && { tls: await loadTlsDir(flags.tlsDir) }),
          ...(flags.tokenFile !== undefined && { token: await readTokenFile(flags.tokenFile) }),
          backoff: { initialMs: flags.registerBackoffMs, maxMs: flags.registerBackoffMaxMs },
          withdrawGraceMs: flags.withdrawGraceMs,
          reconcileIntervalMs: flags.reconcileIntervalMs,
          gossipSettings: PROFILES[flags.gossipProfile]!,
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
