// `host:port` addresses of flags and peers: parsed once into a host and a port number.

export interface HostPort {
  /** A name or an IP address (IPv6 without its brackets). */
  host: string;
  port: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/;

/** `host:port` or `[v6]:port` with a port of 0-65535, or undefined. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = HOST_PORT.exec(text);
  if (!m || Number(m[2]) > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The text form: IPv6 hosts in brackets. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
