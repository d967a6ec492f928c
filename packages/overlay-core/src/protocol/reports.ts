// Status reports checked where they come in (the gRPC service) and where the log hands them back
// (a decoded command): one set of rules, errors naming the entry that is wrong (MasterErrors,
// INVALID_ARGUMENT).
import { isObject, quote } from '../input.js';
import type { AddressUsage, OverlayStatusReport } from './allocation.js';
import { isOverlayStatus } from './allocation.js';
import { MasterError } from './errors.js';

/** The longest `error` a node may report (the gRPC service's limit; the log keeps what it has). */
export const MAX_REPORTED_ERROR = 4096;

const invalid = (message: string) => new MasterError('INVALID_ARGUMENT', message);

function usage(v: unknown, where: string): AddressUsage | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalid(`${where}: expected {mesos, docker}`);
  // proto3 leaves zero counts out.
  const count = (key: 'mesos' | 'docker'): number => {
    const n = v[key] ?? 0;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw invalid(`${where}.${key}: expected a count, got ${quote(n)}`);
    }
    return n;
  };
  return { mesos: count('mesos'), docker: count('docker') };
}

/**
 * The overlays of a status report, checked; proto3's omitted zero values filled in. `maxError`
 * bounds each entry's error text.
 */
export function parseOverlayReports(
  raw: unknown,
  maxError = Number.POSITIVE_INFINITY,
): OverlayStatusReport[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('overlays: expected a list');
  return raw.map((r, i) => {
    const where = `overlays[${i}]`;
    if (!isObject(r)) throw invalid(`${where}: expected an object`);
    if (typeof r.name !== 'string' || r.name === '') throw invalid(`${where}.name: required`);
    const status = r.status ?? 'STATUS_INVALID';
    if (!isOverlayStatus(status)) throw invalid(`${where}.status: unknown status ${quote(status)}`);
    const out: OverlayStatusReport = { name: r.name, status };
    if (r.error !== undefined && r.error !== null && r.error !== '') {
      if (typeof r.error !== 'string') throw invalid(`${where}.error: expected a string`);
      if (r.error.length > maxError) {
        throw invalid(`${where}.error: longer than ${maxError} characters (${r.error.length})`);
      }
      out.error = r.error;
    }
    const used = usage(r.used, `${where}.used`);
    if (used) out.used = used;
    return out;
  });
}
