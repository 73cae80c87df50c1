// Finding the bootstrap the way gRPC does: GRPC_XDS_BOOTSTRAP (a file path) wins over
// GRPC_XDS_BOOTSTRAP_CONFIG (the JSON itself); empty values count as unset.
import { readFile as fsReadFile } from 'node:fs/promises';
import { BootstrapError } from '../errors.ts';
import { parseJsonText } from './json-text.ts';
import { parseBootstrap } from './parse-bootstrap.ts';
import type { Bootstrap, Env } from './types.ts';

export const BOOTSTRAP_FILE_ENV = 'GRPC_XDS_BOOTSTRAP';
export const BOOTSTRAP_CONFIG_ENV = 'GRPC_XDS_BOOTSTRAP_CONFIG';

export type ReadTextFile = (path: string) => Promise<string | Uint8Array>;

export interface LoadBootstrapOptions {
  /** Defaults to `process.env`. */
  env?: Env;
  /** Defaults to `fs.promises.readFile`. */
  readFile?: ReadTextFile;
}

/** True when the environment names a bootstrap (so `loadBootstrap` will not fail for lack of one). */
export function hasBootstrapEnv(env: Env = process.env): boolean {
  return Boolean(env[BOOTSTRAP_FILE_ENV]) || Boolean(env[BOOTSTRAP_CONFIG_ENV]);
}

export async function loadBootstrap(options: LoadBootstrapOptions = {}): Promise<Bootstrap> {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((path: string) => fsReadFile(path));
  const file = env[BOOTSTRAP_FILE_ENV];
  if (file) {
    let content: string | Uint8Array;
    try {
      content = await readFile(file);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new BootstrapError(file, '$', `cannot read the bootstrap file named by ${BOOTSTRAP_FILE_ENV}: ${reason}`, {
        cause: err,
      });
    }
    const text = typeof content === 'string' ? content : new TextDecoder().decode(content);
    return parseBootstrap(parseJsonText(text, file), file);
  }
  const inline = env[BOOTSTRAP_CONFIG_ENV];
  if (inline) return parseBootstrap(parseJsonText(inline, BOOTSTRAP_CONFIG_ENV), BOOTSTRAP_CONFIG_ENV);
  throw new BootstrapError(
    'environment',
    BOOTSTRAP_FILE_ENV,
    `no xDS bootstrap: set ${BOOTSTRAP_FILE_ENV} to a file path or ${BOOTSTRAP_CONFIG_ENV} to the JSON itself`,
  );
}
