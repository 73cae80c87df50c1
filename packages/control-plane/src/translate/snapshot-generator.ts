// Wires the translator to a SnapshotCache: a node key per node class (namespace, labels, locality,
// IPs), a lazy generator, and refresh() for config changes. The config is indexed once per version
// and each node class's outbound view is translated, encoded and versioned once: pods of one
// workload share its Snapshot (or, when they serve ports, a copy with their inbound listeners added).
import { createLogger } from '@inboard/xds';
import { type Node, packAny, TypeUrl } from '@inboard/xds/codec';
import type { AuthHook } from '../auth-hook.ts';
import type { MeshConfigSnapshot } from '../config/istio-types.ts';
import { resourceVersion } from '../resource-version.ts';
import { Snapshot, type SnapshotResourceInput } from '../snapshot.ts';
import {
  type NodeKeyFunction,
  SnapshotCache,
  type SnapshotCacheOptions,
  type SnapshotGenerator,
} from '../snapshot-cache.ts';
import { inboundListeners } from './inbound-listeners.ts';
import { MeshIndex } from './mesh-index.ts';
import { validateIstioNode } from './node-validation.ts';
import { type ProxyNode, parseProxyNode } from './proxy-node.ts';
import { packMessage, translateView } from './translate.ts';
import type { XdsMessages } from './xds-messages.ts';

const log = createLogger('control-plane/istio');

interface PackedView {
  readonly listeners: readonly SnapshotResourceInput[];
  /** The view as a snapshot, built once: type versions hash every name, too costly per pod. */
  readonly snapshot: Snapshot;
}

export interface IstioSnapshotGenerator {
  /** For `new SnapshotCache({nodeKey})`: nodes with the same view and IPs share a key. */
  readonly nodeKey: NodeKeyFunction;
  /** For `new SnapshotCache({generate})`. */
  readonly generate: SnapshotGenerator;
  /** For `new AdsServer({authenticate})`: rejects nodes istiod would reject with INVALID_ARGUMENT. */
  authenticate(inner?: AuthHook): AuthHook;
  /** A SnapshotCache using this generator (attached: refresh() reaches it). */
  createCache(options?: Omit<SnapshotCacheOptions, 'nodeKey' | 'generate'>): SnapshotCache;
  /** Lets refresh() reach a cache built elsewhere. */
  attach(cache: SnapshotCache): void;
  /** The config changed: re-read it, drop cached views and regenerate every node's snapshot. */
  refresh(): void;
  /** The index of the current config (for inspection and tests). */
  index(): MeshIndex;
}

function pack(typeUrl: string, name: string, message: unknown): SnapshotResourceInput {
  const resource = packAny(typeUrl.slice(typeUrl.lastIndexOf('/') + 1) as never, message as never);
  return { name, version: resourceVersion(resource), resource };
}

function packListeners(messages: XdsMessages['listeners']): SnapshotResourceInput[] {
  return messages.map((m) => pack(TypeUrl.Listener, m.name ?? '', m));
}

function packView(m: XdsMessages): PackedView {
  const listeners = packListeners(m.listeners);
  const snapshot = Snapshot.create({
    [TypeUrl.Listener]: { resources: listeners },
    [TypeUrl.RouteConfiguration]: { resources: m.routes.map((r) => pack(TypeUrl.RouteConfiguration, r.name ?? '', r)) },
    [TypeUrl.Cluster]: { resources: m.clusters.map((c) => pack(TypeUrl.Cluster, c.name ?? '', c)) },
    [TypeUrl.ClusterLoadAssignment]: {
      resources: m.endpoints.map((e) => pack(TypeUrl.ClusterLoadAssignment, e.cluster_name ?? '', e)),
    },
  });
  return { listeners, snapshot };
}

/** What decides a node's outbound view (everything but its IPs). */
export function viewKey(node: ProxyNode): string {
  const labels = Object.keys(node.labels)
    .sort()
    .map((k) => [k, node.labels[k]]);
  const l = node.locality;
  return JSON.stringify([
    node.type,
    node.namespace,
    node.dnsDomain,
    labels,
    l.region,
    l.zone,
    l.subZone,
    node.clusterId,
  ]);
}

export function createIstioSnapshotGenerator(getConfig: () => MeshConfigSnapshot): IstioSnapshotGenerator {
  let current: { config: MeshConfigSnapshot; index: MeshIndex } | undefined;
  const views = new Map<string, PackedView>();
  const caches = new Set<SnapshotCache>();

  const index = (): MeshIndex => {
    const config = getConfig();
    if (current === undefined || current.config !== config) {
      current = { config, index: new MeshIndex(config) };
      views.clear();
    }
    return current.index;
  };

  const nodeKey: NodeKeyFunction = (node: Node) => {
    try {
      const p = parseProxyNode(node);
      return `${viewKey(p)}|${p.ipAddresses.join(',')}|${p.podPorts.map((x) => `${x.name}=${x.containerPort}`).join(',')}`;
    } catch {
      // an invalid node never gets this far with the validating auth hook; keep it apart anyway
      return `invalid|${node.id}`;
    }
  };

  const generate: SnapshotGenerator = (node: Node) => {
    const proxy = parseProxyNode(node);
    try {
      const idx = index();
      const key = viewKey(proxy);
      let view = views.get(key);
      if (view === undefined) {
        view = packView(translateView(idx, proxy));
        views.set(key, view);
      }
      const inbound = packListeners(inboundListeners(idx, proxy, packMessage));
      // Clients only (the common case) share the view's snapshot object itself.
      if (inbound.length === 0) return view.snapshot;
      return view.snapshot.withType(TypeUrl.Listener, { resources: [...view.listeners, ...inbound] });
    } catch (err) {
      log.error('translation failed', { node: proxy.nodeId, err: String(err) });
      throw err;
    }
  };

  return {
    nodeKey,
    generate,
    authenticate: (inner) => validateIstioNode(inner),
    createCache(options = {}) {
      const cache = new SnapshotCache({ ...options, nodeKey, generate });
      caches.add(cache);
      return cache;
    },
    attach(cache) {
      caches.add(cache);
    },
    refresh() {
      current = undefined;
      views.clear();
      for (const c of caches) c.refresh();
    },
    index,
  };
}
