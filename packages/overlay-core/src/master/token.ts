// Bearer tokens for the APIs that change state (HTTP and gRPC), when the operator configures one.
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Whether an `Authorization` header value carries the token (compared in constant time). */
export function tokenMatches(header: string, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Reads a token file: its first line, trimmed; an empty file is an error naming it. */
export async function readTokenFile(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`--token-file ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const token = text.split('\n')[0]!.trim();
  if (token === '') throw new Error(`--token-file ${path}: the file holds no token`);
  return token;
}
