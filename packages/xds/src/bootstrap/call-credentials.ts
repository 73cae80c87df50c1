// Per-call metadata for the xDS server: `authorization: Bearer <token>` read from the token file on
// every call (projected tokens rotate; one small read per ADS stream is cheap and never stale), plus
// static headers such as istiod's `clusterid`.
import { readFile as fsReadFile } from 'node:fs/promises';
import { CallCredentials, Metadata, status } from '@grpc/grpc-js';
import { createLogger } from '../logger.ts';
import type { XdsServerConfig } from './types.ts';

const log = createLogger('xds.credentials');

export type ReadFile = (path: string) => Promise<string | Uint8Array>;

/** An Error grpc-js turns into the call's status (it reads a numeric `code`). */
function callFailure(code: status, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

/** Reads a token file into the header value; the file's surrounding whitespace/newline is dropped. */
export async function bearerFromFile(path: string, readFile: ReadFile): Promise<string> {
  let raw: string | Uint8Array;
  try {
    raw = await readFile(path);
  } catch (err) {
    // UNAVAILABLE: the ADS stream retries with backoff, as gRFC A97 prescribes for unreadable files.
    throw callFailure(
      status.UNAVAILABLE,
      `cannot read token file ${path}: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
  const token = (typeof raw === 'string' ? raw : new TextDecoder().decode(raw)).trim();
  if (token === '') throw callFailure(status.UNAUTHENTICATED, `token file ${path} is empty`);
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw callFailure(status.UNAUTHENTICATED, `token file ${path} holds characters that cannot go in a header`);
  }
  return `Bearer ${token}`;
}

/** Static headers as gRPC metadata. */
export function headersMetadata(headers: Readonly<Record<string, string>>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

/**
 * Call credentials for a TLS channel to `server`, or undefined when there is nothing to add.
 * Never used on insecure channels (grpc-js refuses, and a token must not travel in plaintext).
 */
export function createCallCredentials(
  server: XdsServerConfig,
  readFile: ReadFile = (path) => fsReadFile(path),
): CallCredentials | undefined {
  const tokenFiles = server.callCreds.map((c) => c.jwtTokenFile);
  if (tokenFiles.length === 0 && Object.keys(server.headers).length === 0) return undefined;
  return CallCredentials.createFromMetadataGenerator((_params, callback) => {
    const build = async () => {
      const md = headersMetadata(server.headers);
      for (const file of tokenFiles) md.set('authorization', await bearerFromFile(file, readFile));
      return md;
    };
    build().then(
      (md) => callback(null, md),
      (err: Error) => {
        log.warn('cannot build xDS call credentials', { server: server.serverUri, error: err.message });
        callback(err);
      },
    );
  });
}
