// `vnet master ...`: runs one overlay master until SIGTERM or SIGINT.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatIssue, sortIssues } from '../config/types.js';
import { quote } from '../input.js';
import type { RunningMaster } from '../master/daemon.js';
import { formatHostPort, type HostPort } from '../net/host-port.js';
import { loadTlsDir } from '../security/tls.js';
import { readTokenFile } from '../security/token.js';
import { hostPortFlag, hostPortOption, millisFlag } from './flags.js';
import { createLogger, LOG_LEVELS } from './logger.js';

/** `id=host:port,...`: every master's Raft peer address (1, 3 or 5 of them). */
export function parsePeers(value: string): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const id = part.slice(0, eq).trim();
    if (eq <= 0 || id === '') {
      throw new InvalidArgumentError(`${quote(part)} is not id=host:port`);
    }
    if (peers[id]) throw new InvalidArgumentError(`master id ${quote(id)} is listed twice`);
    peers[id] = formatHostPort(hostPortFlag(part.slice(eq + 1).trim()));
  }
  const n = Object.keys(peers).length;
  if (n !== 1 && n !== 3 && n !== 5) {
    throw new InvalidArgumentError(`${n} masters: run 1, 3 or 5 (a quorum needs a majority)`);
  }
  return peers;
}

interface MasterFlags {
  id: string;
  peers: Record<string, string>;
  listen: HostPort;
  http: HostPort;
  config: string;
  dataDir: string;
  tlsDir?: string;
  tokenFile?: string;
  applyRemovals?: boolean;
  rejoin?: boolean;
  logLevel: string;
  raftTickMs?: number;
}

export function addMasterCommand(program: Command): void {
  program
    .command('master')
    .description(
      'run an overlay master: a member of the overlay replicated log (Raft on LevelDB), the node-facing gRPC service and the HTTP API',
    )
    .requiredOption('--id <id>', "this master's member id (stable for the life of its data)")
    .requiredOption(
      '--peers <id=host:port,...>',
      'Raft peer address of every master (1, 3 or 5), this one included; the same on all masters',
      parsePeers,
    )
    .requiredOption(
      '--config <file>',
      'config.yaml or dcos_overlay_network block (see vnet config check)',
    )
    .requiredOption('--data-dir <dir>', 'where the overlay replicated log lives (LevelDB)')
    .addOption(hostPortOption('--listen <host:port>', 'node-facing gRPC service', '0.0.0.0:7000'))
    .addOption(
      hostPortOption(
        '--http <host:port>',
        'HTTP API (/overlay-master/..., /metrics, /health)',
        '0.0.0.0:8080',
      ),
    )
    .option('--tls-dir <dir>', 'mutual TLS for gRPC and Raft: ca.pem, cert.pem, key.pem')
    .option('--token-file <file>', 'require this bearer token for every request that changes state')
    .option(
      '--apply-removals',
      'remove overlays that are in the log but not in the config file, and re-create changed ones (their nodes lose those blocks)',
    )
    .option(
      '--rejoin',
      'after moving a damaged data dir aside: start empty and have the leader re-add this master',
    )
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option('--raft-tick-ms <ms>', 'Raft tick; elections take 10-20 ticks').argParser(
        millisFlag,
      ),
    )
    .action(async (flags: MasterFlags) => {
      const logger = await createLogger('vnet-master', flags.logLevel);
      const { loadConfigFile } = await import('../config/load.js');
      const loaded = await loadConfigFile(flags.config);
      if (!loaded.ok) {
        const lines = sortIssues(loaded.issues).map((i) => `  ${formatIssue(i, flags.config)}`);
        process.stderr.write(
          `vnet master: ${flags.config}: invalid config:\n${lines.join('\n')}\n`,
        );
        process.exitCode = 2;
        return;
      }
      // The daemon (gRPC, LevelDB, Raft) loads only for this command: the others start fast.
      const { MasterStartError, startMaster } = await import('../master/daemon.js');
      let master: RunningMaster;
      try {
        master = await startMaster({
          id: flags.id,
          peers: flags.peers,
          listen: flags.listen,
          http: flags.http,
          config: loaded.config,
          configFile: flags.config,
          dataDir: flags.dataDir,
          ...(flags.tlsDir !== undefined && { tls: await loadTlsDir(flags.tlsDir) }),
          ...(flags.tokenFile !== undefined && { token: await readTokenFile(flags.tokenFile) }),
          ...(flags.applyRemovals && { applyRemovals: true }),
          ...(flags.rejoin && { rejoin: true }),
          ...(flags.raftTickMs !== undefined && { tickMs: flags.raftTickMs }),
          argv: ['vnet', ...process.argv.slice(2)],
          logger,
        });
      } catch (e) {
        const code = e instanceof MasterStartError ? e.exitCode : 1;
        logger.fatal({ err: e }, 'overlay master could not start');
        process.stderr.write(`vnet master: ${(e as Error).message}\n`);
        process.exit(code);
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'stopping');
          master.stop().then(resolve, (e) => {
            logger.error({ err: e }, 'stop failed');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        master.node.once('error', () => {
          process.exitCode = 1;
          stop('raft error');
        });
      });
      logger.info('stopped');
      // Client connections of libraries may linger after close; the daemon is done.
      process.exit();
    });
}
