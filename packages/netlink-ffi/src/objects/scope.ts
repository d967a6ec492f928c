import { NetlinkSpecError } from '../errors.js';

/** Route/address scopes by name (rtm_scope, ifa_scope). */
export const SCOPES = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
export type ScopeName = keyof typeof SCOPES;

export function parseScope(v: ScopeName | number, field: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255) return v;
  if (typeof v === 'string' && Object.hasOwn(SCOPES, v)) return SCOPES[v];
  throw new NetlinkSpecError(
    field,
    `${JSON.stringify(v)} is not a scope (global, link, host, 0-255)`,
  );
}
