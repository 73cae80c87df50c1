// Per-resource versions for Delta xDS: a stable hash of the encoded resource, so the same bytes
// always get the same version across snapshots, processes and restarts (a reconnecting client's
// initial_resource_versions then match without the server remembering anything).
import { createHash } from 'node:crypto';
import type { Any } from '@inboard/xds/codec';

export function resourceVersion(resource: Any): string {
  return createHash('sha256')
    .update(resource.type_url)
    .update('\0')
    .update(resource.value)
    .digest('base64url')
    .slice(0, 16);
}

/** A type version derived from the (name, version) pairs, independent of insertion order. */
export function typeVersion(entries: Iterable<{ readonly name: string; readonly version: string }>): string {
  const parts = [...entries].map((e) => `${e.name}\0${e.version}`).sort();
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 16);
}
