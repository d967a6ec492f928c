// The node's own resolvers (the `nameserver` lines of /etc/resolv.conf): where navstar forwards
// every name outside its zones unless `--dns-upstream` says otherwise.
import { readFile } from 'node:fs/promises';

/** The nameservers of a resolv.conf text, in order (IPv6 link-local scopes dropped). */
export function nameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1]) out.push(m[1].replace(/%.*$/, ''));
  }
  return out;
}

/** The node's nameservers, or none when the file cannot be read. */
export async function systemNameservers(path = '/etc/resolv.conf'): Promise<string[]> {
  try {
    return nameservers(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
}
