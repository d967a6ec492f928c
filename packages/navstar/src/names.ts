// Name rules for task DNS names, as upstream dcos-net applies them (mesos_state:label/1), with the
// character rule of the vnet issue: every character outside [a-z0-9-] becomes '-'.

/** Longest DNS label (RFC 1035 section 2.3.4). */
export const MAX_LABEL = 63;

/**
 * One DNS label from a free-form name: lower-cased, characters outside [a-z0-9-] become '-',
 * leading and trailing '-' removed, at most 63 characters. May return '' (caller decides).
 */
export function toLabel(raw: string): string {
  let s = raw.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  s = s.replace(/^-+/, '');
  if (s.length > MAX_LABEL) s = s.slice(0, MAX_LABEL);
  return s.replace(/-+$/, '');
}

/**
 * The task component of a name. A Marathon app path (`/group/sub/app`) reads leaf first
 * (`app-sub-group`), as Mesos names such tasks `app.sub.group`.
 */
export function taskLabel(raw: string): string {
  if (raw.startsWith('/')) {
    const parts = raw.split('/').filter((p) => p.length > 0);
    return toLabel(parts.reverse().join('-'));
  }
  return toLabel(raw);
}
