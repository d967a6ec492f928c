// The bearer token of the APIs that change state, when the operator configures one: read from a
// file, and checked the same way by the HTTP API (`Authorization: Bearer <token>`) and the gRPC
// service (`authorization` metadata).
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { MasterError } from '../protocol/errors.js';

/** Whether an `Authorization` header value carries the token (compared in constant time). */
export function tokenMatches(header: string, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * A check for requests that change state: throws UNAUTHENTICATED unless `header` carries
 * `token`; passes everything when no token is configured.
 */
export function bearerCheck(token: string | undefined): (header: unknown) => void {
  return (header) => {
    if (token === undefined) return;
    if (typeof header === 'string' && tokenMatches(header, token)) return;
    throw new MasterError(
      'UNAUTHENTICATED',
      'a bearer token is required (HTTP: Authorization: Bearer <token>; gRPC: authorization metadata)',
    );
  };
}

/** Reads a token file: its first line, trimmed; an empty file is an error naming it. */
export async function readTokenFile(path: string, flag = '--token-file'): Promise<string> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${flag} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const token = text.split('\n')[0]!.trim();
  if (token === '') throw new Error(`${flag} ${path}: the file holds no token`);
  return token;
}
