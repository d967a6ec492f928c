// `--keyring-file`: the gossip group's AES-256 keys, base64, one per line, primary first.
import { readFile } from 'node:fs/promises';

/** The keys of a keyring file; an unreadable or empty file is an error naming it. */
export async function readKeyringFile(path: string, flag = '--keyring-file'): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new Error(`${flag} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const keys = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (keys.length === 0) throw new Error(`${flag} ${path}: the file holds no key`);
  return keys;
}
