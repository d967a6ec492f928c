// The daemons' logs: JSON lines (pino) on standard output. pino loads with the daemon that
// needs it, not with every command.
import type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export async function createLogger(name: string, level: string): Promise<Logger> {
  const { pino } = await import('pino');
  return pino({ name, level, base: { pid: process.pid } });
}
