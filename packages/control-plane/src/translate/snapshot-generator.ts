// Wires the translator to a SnapshotCache: a node key per node class (namespace, labels, locality,
// IPs), a lazy generator, and refresh() for config changes. The config is indexed once per version
// and each node class's outbound view is translated, encoded and versioned once: pods of one
// workload share its Snapshot (or, when they serve ports, a copy with their inbound listeners added).
import { createLogger } from '@inboard/xds';
import { type Node, packAny, TypeUrl } from '@inboard/xds/codec';
import type { AuthHook } from '../auth-hook.ts';
import type { MeshConfigSnapshot } from '../config/istio-types.ts';
import { resourceVersion } from '../resource-version.ts';
import { Snapshot, type SnapshotResourceInput, type SnapshotTypeInput } from '../snapshot.ts';
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

function pack(typeUrl: string, name: string, message: unknown, previous?: Snapshot): SnapshotResourceInput {
  const resource = packAny(typeUrl.slice(typeUrl.lastIndexOf('/') + 1) as never, message as never);
  // A config edit changes a few resources of a view: the others encode to the bytes they had, so
  // they keep the previous resource (and its version) without hashing again.
  const before = previous?.resource(typeUrl, name);
  if (
    before !== undefined &&
    before.resource.type_url === resource.type_url &&
    Buffer.compare(before.resource.value, resource.value) === 0
  )
    return before;
  return { name, version: resourceVersion(resource), resource };
}

function packListeners(messages: XdsMessages['listeners'], previous?: Snapshot): SnapshotResourceInput[] {
  return messages.map((m) => pack(TypeUrl.Listener, m.name ?? '', m, previous));
}

/** A type's resources, with the previous type version when they are exactly the previous ones. */
function packType(
  typeUrl: string,
  resources: readonly SnapshotResourceInput[],
  previous: Snapshot | undefined,
): SnapshotTypeInput {
  if (previous === undefined) return { resources };
  const before = previous.resources(typeUrl);
  if (before.size !== resources.length) return { resources };
  for (const r of resources) if (before.get(r.name) !== r) return { resources };
  return { version: previous.version(typeUrl), resources };
}

function packView(m: XdsMessages, previous?: PackedView): PackedView {
  const prev = previous?.snapshot;
  const listeners = packListeners(m.listeners, prev);
  const routes = m.routes.map((r) => pack(TypeUrl.RouteConfiguration, r.name ?? '', r, prev));
  const clusters = m.clusters.map((c) => pack(TypeUrl.Cluster, c.name ?? '', c, prev));
  const endpoints = m.endpoints.map((e) => pack(TypeUrl.ClusterLoadAssignment, e.cluster_name ?? '', e, prev));
  const snapshot = Snapshot.create({
    [TypeUrl.Listener]: packType(TypeUrl.Listener, listeners, prev),
    [TypeUrl.RouteConfiguration]: packType(TypeUrl.RouteConfiguration, routes, prev),
    [TypeUrl.Cluster]: packType(TypeUrl.Cluster, clusters, prev),
    [TypeUrl.ClusterLoadAssignment]: packType(TypeUrl.ClusterLoadAssignment, endpoints, prev),
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
  let views = new Map<string, PackedView>();
  // The views of the config before, until each is rebuilt: unchanged resources are reused from them.
  let retired = new Map<string, PackedView>();
  const caches = new Set<SnapshotCache>();

  const retire = () => {
    if (views.size === 0) return;
    retired = views;
    views = new Map();
  };

  const index = (): MeshIndex => {
    const config = getConfig();
    if (current === undefined || current.config !== config) {
      current = { config, index: new MeshIndex(config) };
      retire();
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
        view = packView(translateView(idx, proxy), retired.get(key));
        retired.delete(key);
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
      retire();
      for (const c of caches) c.refresh();
    },
    index,
  };
}
