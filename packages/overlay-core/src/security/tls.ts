// Mutual TLS, the same on masters and agents: `--tls-dir DIR` holds the PEM files, and gRPC
// channels and servers are built from them here (plaintext without them).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';

export interface TlsFiles {
  /** The cluster's CA: peers and clients must present certificates it signed. */
  ca: Buffer;
  /** This process's certificate and key (server and client side alike). */
  cert: Buffer;
  key: Buffer;
}

const TLS_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

export async function loadTlsDir(dir: string): Promise<TlsFiles> {
  const read = async (name: string): Promise<Buffer> => {
    const path = join(dir, name);
    const data = await readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`--tls-dir ${dir}: cannot read ${name} (${e.code ?? e.message})`);
    });
    if (!data.toString('latin1').includes('-----BEGIN')) {
      throw new Error(`--tls-dir ${dir}: ${name} is not a PEM file`);
    }
    return data;
  };
  const [ca, cert, key] = await Promise.all([
    read(TLS_FILES.ca),
    read(TLS_FILES.cert),
    read(TLS_FILES.key),
  ]);
  return { ca, cert, key };
}

/** A gRPC client's credentials: mutual TLS with `tls`, plaintext without. */
export function clientCredentials(tls?: TlsFiles): grpc.ChannelCredentials {
  return tls
    ? grpc.credentials.createSsl(tls.ca, tls.key, tls.cert)
    : grpc.credentials.createInsecure();
}

/** A gRPC server's credentials: with `tls`, clients must present a certificate the CA signed. */
export function serverCredentials(tls?: TlsFiles): grpc.ServerCredentials {
  return tls
    ? grpc.ServerCredentials.createSsl(
        tls.ca,
        [{ private_key: tls.key, cert_chain: tls.cert }],
        true,
      )
    : grpc.ServerCredentials.createInsecure();
}
