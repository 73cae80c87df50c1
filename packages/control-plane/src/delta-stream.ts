// DeltaAggregatedResources with istiod's rules (pilot/pkg/xds/delta.go): NACK → record, send nothing;
// a non-empty response_nonce that is not the last one sent → ignore; the first request for LDS/CDS
// without names is a wildcard subscription, '*' subscribes to the wildcard explicitly;
// initial_resource_versions tell what a reconnecting client already has. The stream remembers
// what the client holds (name → version) and sends only differences plus removed_resources.
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponseIn } from '@inboard/xds/codec';
import { AdsStream } from './ads-stream.ts';
import type { Snapshot, SnapshotResource } from './snapshot.ts';

interface DeltaWatch {
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds: name → version, or null when it was told the resource does not exist. */
  known: Map<string, string | null>;
  nonce: string | undefined;
  /** Asked for while the node had no snapshot: answer as soon as one appears. */
  pending: boolean;
}

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponseIn> {
  readonly kind = 'delta' as const;
  readonly #watches = new Map<string, DeltaWatch>();

  protected handleRequest(req: DeltaDiscoveryRequest): void {
    const typeUrl = req.type_url;
    const fields = {
      nonce: req.response_nonce,
      version: '',
      resourceNames: req.resource_names_subscribe,
      unsubscribe: req.resource_names_unsubscribe,
    };
    const last = this.lastSent(typeUrl);
    if (req.error_detail !== undefined) {
      this.emitRequest(typeUrl, 'nack', fields);
      const version = req.response_nonce === last.nonce ? (last.version ?? '') : '';
      this.recordNack(typeUrl, req.response_nonce, version, req.error_detail);
      return;
    }
    const watch = this.#watches.get(typeUrl);
    if (watch === undefined) {
      this.#watches.set(typeUrl, this.#newWatch(req));
      this.emitRequest(typeUrl, 'initial', fields);
      this.#respond(typeUrl, 'request', true);
      return;
    }
    // An empty nonce is a spontaneous subscription change, never stale.
    if (req.response_nonce !== '' && req.response_nonce !== watch.nonce) {
      this.emitRequest(typeUrl, 'stale', fields);
      return;
    }
    const changed = applySubscription(watch, req.resource_names_subscribe, req.resource_names_unsubscribe);
    const disposition = changed ? 'change' : req.response_nonce === '' ? 'noop' : 'ack';
    this.emitRequest(typeUrl, disposition, fields);
    if (req.response_nonce !== '') this.recordAck(typeUrl, req.response_nonce, last.version ?? '');
    // Only unsubscriptions produce an empty delta, which is not sent (the client forgets on its own).
    if (changed) this.#respond(typeUrl, 'request', false);
  }

  protected onSnapshotChange(): void {
    if (this.snapshot() === undefined) return;
    for (const [typeUrl, watch] of this.#watches) this.#respond(typeUrl, 'push', watch.pending);
  }

  protected subscription(typeUrl: string): { wildcard: boolean; names: readonly string[] } {
    const w = this.#watches.get(typeUrl);
    return { wildcard: w?.wildcard ?? false, names: w === undefined ? [] : [...w.names] };
  }

  #newWatch(req: DeltaDiscoveryRequest): DeltaWatch {
    const watch: DeltaWatch = {
      wildcard: req.resource_names_subscribe.length === 0 && this.isWildcardType(req.type_url),
      names: new Set(),
      known: new Map(),
      nonce: undefined,
      pending: false,
    };
    applySubscription(watch, req.resource_names_subscribe, req.resource_names_unsubscribe);
    for (const [name, version] of Object.entries(req.initial_resource_versions)) {
      watch.known.set(name, version);
      // Without the wildcard, what the client holds is what it is subscribed to (istiod does the same).
      if (!watch.wildcard) watch.names.add(name);
    }
    return watch;
  }

  /** `force`: send even an empty response (the first answer for a type tells the client "this is all"). */
  #respond(typeUrl: string, cause: 'request' | 'push', force: boolean): void {
    const watch = this.#watches.get(typeUrl);
    if (watch === undefined) return;
    const snapshot = this.snapshot();
    if (snapshot === undefined) {
      if (cause === 'request') watch.pending = true;
      return;
    }
    const { resources, removed } = diff(watch, snapshot, typeUrl);
    const interested = watch.wildcard || watch.names.size > 0;
    if (resources.length === 0 && removed.length === 0 && !(force && interested)) {
      watch.pending = false;
      return;
    }
    const version = snapshot.version(typeUrl);
    const nonce = this.host.nonce(version);
    watch.nonce = nonce;
    watch.pending = false;
    this.send(
      {
        system_version_info: version,
        type_url: typeUrl,
        nonce,
        resources: resources.map((r) => ({ name: r.name, version: r.version, resource: r.resource })),
        removed_resources: removed,
      },
      { typeUrl, nonce, version, resourceNames: resources.map((r) => r.name), removedResources: removed, cause },
    );
  }
}

/** Applies subscribe/unsubscribe lists ('*' toggles the wildcard). Returns whether anything changed. */
function applySubscription(watch: DeltaWatch, subscribe: readonly string[], unsubscribe: readonly string[]): boolean {
  let changed = false;
  for (const name of subscribe) {
    if (name === '*') {
      if (!watch.wildcard) changed = true;
      watch.wildcard = true;
    } else if (!watch.names.has(name)) {
      watch.names.add(name);
      changed = true;
    }
  }
  for (const name of unsubscribe) {
    if (name === '*') {
      if (watch.wildcard) changed = true;
      watch.wildcard = false;
    } else if (watch.names.delete(name)) {
      changed = true;
    }
    // The client drops what it unsubscribed from; resubscribing must send it again.
    if (name !== '*') watch.known.delete(name);
  }
  return changed;
}

/**
 * What to send so the client ends up holding exactly the interesting resources of the snapshot:
 * changed or new ones, plus removed_resources for held (or newly asked-for) names that do not exist.
 * Updates `watch.known` to what the client will hold after this response.
 */
function diff(
  watch: DeltaWatch,
  snapshot: Snapshot,
  typeUrl: string,
): { resources: SnapshotResource[]; removed: string[] } {
  const all = snapshot.resources(typeUrl);
  const interested = new Set(watch.names);
  if (watch.wildcard) for (const name of all.keys()) interested.add(name);
  const resources: SnapshotResource[] = [];
  const removed: string[] = [];
  for (const name of interested) {
    const r = all.get(name);
    const held = watch.known.get(name);
    if (r !== undefined) {
      if (held !== r.version) {
        resources.push(r);
        watch.known.set(name, r.version);
      }
    } else if (held !== null) {
      // Explicitly subscribed but absent: say so once, so the client need not wait for a timeout.
      removed.push(name);
      watch.known.set(name, null);
    }
  }
  for (const [name, held] of watch.known) {
    if (interested.has(name)) continue;
    watch.known.delete(name);
    // Only the wildcard makes the server responsible for telling about deletions of unnamed resources.
    if (watch.wildcard && held !== null) removed.push(name);
  }
  return { resources, removed };
}
