// Docker's own iptables rules against the overlay. A dockerd that manages iptables sets the
// FORWARD policy to DROP and only accepts what goes out of its bridges or answers it; it also
// loads br_netfilter, so even traffic between two CNI containers on one `m-` bridge crosses that
// FORWARD chain. Measured here (dockerd with iptables in a namespace, see the kernel test):
// a namespace on `m-dcos` could not ping a container on `d-dcos`, nor another namespace on the
// same `m-dcos`; traffic through vtep1024 is forwarded too and dropped the same way. An accept
// in vnet's own nftables table cannot help (a drop in any base chain is final), so vnet puts
// its accepts where Docker leaves room for users: a chain `VNET-DOCKER`, jumped to first from
// `DOCKER-USER`, accepting everything from or to an overlay subnet. The overlays' isolation from
// each other stays in vnet's nftables table, whose drops still apply.
import { execFile } from 'node:child_process';

export const VNET_DOCKER_CHAIN = 'VNET-DOCKER';
export const DOCKER_USER_CHAIN = 'DOCKER-USER';

/** The `iptables-restore --noflush` input that sets VNET-DOCKER to accept these subnets. */
export function renderVnetDockerChain(subnets: readonly string[]): string {
  return [
    '*filter',
    // Declaring a chain under --noflush creates it or empties it: one atomic replacement.
    `:${VNET_DOCKER_CHAIN} - [0:0]`,
    ...subnets.flatMap((s) => [
      `-A ${VNET_DOCKER_CHAIN} -s ${s} -m comment --comment "vnet overlay" -j ACCEPT`,
      `-A ${VNET_DOCKER_CHAIN} -d ${s} -m comment --comment "vnet overlay" -j ACCEPT`,
    ]),
    'COMMIT',
    '',
  ].join('\n');
}

/** Runs a command, resolving with its exit code and output (never rejects for an exit code). */
export type CommandRunner = (
  argv: readonly string[],
  input?: string,
) => Promise<{ code: number; output: string }>;

/** A runner of real commands, behind `prefix` (e.g. `nsenter --net=...` in tests). */
export function commandRunner(prefix: readonly string[] = []): CommandRunner {
  return (argv, input) =>
    new Promise((resolve) => {
      const [cmd, ...args] = [...prefix, ...argv];
      const child = execFile(cmd!, args, { timeout: 15_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, output: `${stderr}${stdout}`.trim() || (err?.message ?? '') });
      });
      child.stdin?.on('error', () => {}); // a command may exit without reading its input
      child.stdin?.end(input ?? '');
    });
}

export type IsolationState = 'applied' | 'no-docker-iptables';

/**
 * Makes Docker's FORWARD chain of one family let overlay traffic pass: when `DOCKER-USER`
 * exists (dockerd manages iptables), VNET-DOCKER is set to the subnets and jumped to from the
 * top of DOCKER-USER; otherwise there is nothing to do. Idempotent: run on every dockerd
 * (re)start and periodically. Throws with the command's message when a command fails.
 */
export async function applyIsolationBypass(
  run: CommandRunner,
  family: 4 | 6,
  subnets: readonly string[],
): Promise<IsolationState> {
  const [iptables, restore] =
    family === 4 ? ['iptables', 'iptables-restore'] : ['ip6tables', 'ip6tables-restore'];
  const list = await run([iptables, '-w', '-S', DOCKER_USER_CHAIN]);
  if (list.code !== 0) return 'no-docker-iptables';
  const restored = await run([restore, '--noflush'], renderVnetDockerChain(subnets));
  if (restored.code !== 0) throw new Error(`${restore}: ${restored.output}`);
  const jump = ['-j', VNET_DOCKER_CHAIN];
  if (
    !list.output
      .split('\n')
      .some((l) => l.trim() === `-A ${DOCKER_USER_CHAIN} -j ${VNET_DOCKER_CHAIN}`)
  ) {
    const ins = await run([iptables, '-w', '-I', DOCKER_USER_CHAIN, '1', ...jump]);
    if (ins.code !== 0) throw new Error(`${iptables} -I ${DOCKER_USER_CHAIN}: ${ins.output}`);
  }
  return 'applied';
}
