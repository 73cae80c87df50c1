// StreamAggregatedResources (State of the World) with istiod's rules (pkg/xds/server.go ShouldRespond):
// NACK → record, send nothing; empty RDS/EDS names → unsubscribe; first request or empty nonce →
// respond; stale nonce → ignore; matching nonce → ACK, and respond only when the names changed
// (for non-wildcard types only when a name was added). Every response carries all subscribed
// resources that exist, so for LDS/CDS absence means deletion.
import type { DiscoveryRequest, DiscoveryResponseIn } from '@inboard/xds/codec';
import { AdsStream } from './ads-stream.ts';
import type { Snapshot, SnapshotResource } from './snapshot.ts';

interface SotwWatch {
  wildcard: boolean;
  names: Set<string>;
  /** Nonce of the last response for the type (undefined until one is sent). */
  nonce: string | undefined;
  /** name → resource version of the last response, to push only real changes. */
  sent: Map<string, string> | undefined;
  /** Asked for while the node had no snapshot: answer as soon as one appears. */
  pending: boolean;
}

export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponseIn> {
  readonly kind = 'sotw' as const;
  readonly #watches = new Map<string, SotwWatch>();

  protected handleRequest(req: DiscoveryRequest): void {
    const typeUrl = req.type_url;
    const fields = {
      nonce: req.response_nonce,
      version: req.version_info,
      resourceNames: req.resource_names,
      unsubscribe: [],
    };
    if (req.error_detail !== undefined) {
      // Names in a NACK are ignored too: nothing else is processed until the next push.
      this.emitRequest(typeUrl, 'nack', fields);
      this.recordNack(typeUrl, req.response_nonce, req.version_info, req.error_detail);
      return;
    }
    const wildcardType = this.isWildcardType(typeUrl);
    if (req.resource_names.length === 0 && !wildcardType) {
      this.#watches.delete(typeUrl);
      this.emitRequest(typeUrl, 'unsubscribe', fields);
      return;
    }
    const next = parseNames(req.resource_names, wildcardType);
    const watch = this.#watches.get(typeUrl);
    if (req.response_nonce === '' || watch === undefined) {
      this.#watches.set(typeUrl, { ...next, nonce: undefined, sent: undefined, pending: false });
      this.emitRequest(typeUrl, 'initial', fields);
      this.#respond(typeUrl, 'request');
      return;
    }
    if (req.response_nonce !== watch.nonce) {
      this.emitRequest(typeUrl, 'stale', fields);
      return;
    }
    const added = (next.wildcard && !watch.wildcard) || [...next.names].some((n) => !watch.names.has(n));
    const removed = (watch.wildcard && !next.wildcard) || [...watch.names].some((n) => !next.names.has(n));
    watch.wildcard = next.wildcard;
    watch.names = next.names;
    this.emitRequest(typeUrl, added || removed ? 'change' : 'ack', fields);
    this.recordAck(typeUrl, req.response_nonce, req.version_info);
    if (added || (removed && wildcardType)) this.#respond(typeUrl, 'request');
  }

  protected onSnapshotChange(): void {
    const snapshot = this.snapshot();
    if (snapshot === undefined) return;
    for (const [typeUrl, watch] of this.#watches) {
      if (watch.pending || watch.sent === undefined || !sameContent(watch.sent, select(watch, snapshot, typeUrl))) {
        this.#respond(typeUrl, 'push');
      }
    }
  }

  protected subscription(typeUrl: string): { wildcard: boolean; names: readonly string[] } {
    const w = this.#watches.get(typeUrl);
    return { wildcard: w?.wildcard ?? false, names: w === undefined ? [] : [...w.names] };
  }

  #respond(typeUrl: string, cause: 'request' | 'push'): void {
    const watch = this.#watches.get(typeUrl);
    if (watch === undefined) return;
    const snapshot = this.snapshot();
    if (snapshot === undefined) {
      watch.pending = true;
      return;
    }
    const resources = select(watch, snapshot, typeUrl);
    const version = snapshot.version(typeUrl);
    const nonce = this.host.nonce(version);
    watch.nonce = nonce;
    watch.pending = false;
    watch.sent = new Map(resources.map((r) => [r.name, r.version]));
    this.send(
      { version_info: version, type_url: typeUrl, nonce, resources: resources.map((r) => r.resource) },
      { typeUrl, nonce, version, resourceNames: resources.map((r) => r.name), removedResources: [], cause },
    );
  }
}

/** '*' (or no name at all) is the wildcard for wildcard types; for other types '*' is just a name. */
function parseNames(names: readonly string[], wildcardType: boolean): { wildcard: boolean; names: Set<string> } {
  if (!wildcardType) return { wildcard: false, names: new Set(names) };
  const set = new Set(names);
  const wildcard = set.size === 0 || set.delete('*');
  return { wildcard, names: set };
}

function select(watch: SotwWatch, snapshot: Snapshot, typeUrl: string): SnapshotResource[] {
  const all = snapshot.resources(typeUrl);
  if (watch.wildcard) return [...all.values()];
  const out: SnapshotResource[] = [];
  for (const name of watch.names) {
    const r = all.get(name);
    if (r !== undefined) out.push(r);
  }
  return out;
}

function sameContent(sent: ReadonlyMap<string, string>, next: readonly SnapshotResource[]): boolean {
  if (sent.size !== next.length) return false;
  for (const r of next) if (sent.get(r.name) !== r.version) return false;
  return true;
}
