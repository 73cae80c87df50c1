// Node.user_agent_name / user_agent_version: filled by us, never taken from the bootstrap (gRFC A27).
import { readFileSync } from 'node:fs';
import type { BootstrapNode } from './types.ts';

function packageVersion(): string {
  try {
    // src/bootstrap/ and dist/bootstrap/ are both two levels below packages/xds/package.json.
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = (pkg as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const USER_AGENT_NAME = 'inboard';
export const USER_AGENT_VERSION: string = packageVersion();

/** The bootstrap node with the fields the client fills itself (user agent; no client features). */
export function bootstrapNode(
  id: string,
  cluster: string,
  metadata: BootstrapNode['metadata'],
  locality: BootstrapNode['locality'],
): BootstrapNode {
  return {
    id,
    cluster,
    metadata,
    locality,
    userAgentName: USER_AGENT_NAME,
    userAgentVersion: USER_AGENT_VERSION,
    clientFeatures: [],
  };
}
