// Status reports checked where they come in (the gRPC service) and where the log hands them back
// (a decoded command): one set of rules, errors naming the entry that is wrong.

import { type AddressUsage, isOverlayStatus, type OverlayStatusReport } from './allocation.js';
import { quote } from './quote.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Thrown with the path of the bad field ("overlays[1].status: ..."). */
export class ReportError extends Error {
  override name = 'ReportError';
}

function usage(v: unknown, where: string): AddressUsage | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ReportError(`${where}: expected {mesos, docker}`);
  // proto3 leaves zero counts out.
  const count = (key: 'mesos' | 'docker'): number => {
    const n = v[key] ?? 0;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new ReportError(`${where}.${key}: expected a count, got ${quote(n)}`);
    }
    return n;
  };
  return { mesos: count('mesos'), docker: count('docker') };
}

/** The overlays of a status report, checked; proto3's omitted zero values filled in. */
export function parseOverlayReports(raw: unknown): OverlayStatusReport[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ReportError('overlays: expected a list');
  return raw.map((r, i) => {
    const where = `overlays[${i}]`;
    if (!isObject(r)) throw new ReportError(`${where}: expected an object`);
    if (typeof r.name !== 'string' || r.name === '') {
      throw new ReportError(`${where}.name: required`);
    }
    const status = r.status ?? 'STATUS_INVALID';
    if (!isOverlayStatus(status)) {
      throw new ReportError(`${where}.status: unknown status ${quote(status)}`);
    }
    const out: OverlayStatusReport = { name: r.name, status };
    if (r.error !== undefined && r.error !== null && r.error !== '') {
      if (typeof r.error !== 'string') throw new ReportError(`${where}.error: expected a string`);
      out.error = r.error;
    }
    const used = usage(r.used, `${where}.used`);
    if (used) out.used = used;
    return out;
  });
}
