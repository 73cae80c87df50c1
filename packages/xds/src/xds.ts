// The entry point most users need: a bootstrap in, one XdsClient (one ADS stream) out, and
// `resolve(target)` giving consistent per-target snapshots. One Xds per process is the rule:
// istio-agent keeps a single downstream stream per pod and closes earlier ones.

import { hasBootstrapEnv, loadBootstrap } from './bootstrap/load-bootstrap.ts';
import { nodeToProto } from './bootstrap/node-proto.ts';
import { applyResourceNameTemplate } from './bootstrap/resource-name-template.ts';
import type { Bootstrap, Env } from './bootstrap/types.ts';
import { type AdsMode, type AdsTransport, createGrpcTransport } from './client/ads-transport.ts';
import type { BackoffOptions } from './client/backoff.ts';
import { XdsClient } from './client/xds-client.ts';
import type { Clock } from './clock.ts';
import { BootstrapError } from './errors.ts';
import { type ResolverResourceTypes, TargetResolver } from './resolve/target-resolver.ts';
import { clusterType } from './resources/cluster.ts';
import { clusterLoadAssignmentType } from './resources/cluster-load-assignment.ts';
import { listenerType } from './resources/listener.ts';
import { routeConfigurationType } from './resources/route-configuration.ts';

/** The four resource types a client target needs. */
export const resourceTypes: ResolverResourceTypes = {
  listener: listenerType,
  routeConfiguration: routeConfigurationType,
  cluster: clusterType,
  clusterLoadAssignment: clusterLoadAssignmentType,
};

export interface XdsOptions {
  readonly bootstrap: Bootstrap;
  /** 'sotw' (default, what istiod serves proxyless clients) or 'delta' */
  readonly mode?: AdsMode;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly doesNotExistTimeoutMs?: number;
  /** replaces the gRPC transport (tests) */
  readonly transport?: AdsTransport;
}

export class Xds {
  readonly bootstrap: Bootstrap;
  readonly client: XdsClient;
  private readonly resolvers = new Map<string, TargetResolver>();

  constructor(options: XdsOptions) {
    const { bootstrap } = options;
    const server = bootstrap.xdsServers[0];
    if (server === undefined) {
      throw new BootstrapError('bootstrap', 'xds_servers', 'at least one xDS server is required');
    }
    this.bootstrap = bootstrap;
    const transport =
      options.transport ??
      (async () => {
        const { xdsChannelConfig } = await import('./bootstrap/channel-credentials.ts');
        const cfg = await xdsChannelConfig(server);
        return createGrpcTransport({ target: cfg.target, credentials: cfg.credentials, channelOptions: cfg.options });
      });
    this.client = new XdsClient({
      transport,
      node: nodeToProto(bootstrap.node),
      resourceTypes: Object.values(resourceTypes),
      mode: options.mode,
      clock: options.clock,
      backoff: options.backoff,
      doesNotExistTimeoutMs: options.doesNotExistTimeoutMs,
      decodeContext: { certificateProviders: new Set(Object.keys(bootstrap.certificateProviders)) },
      ignoreResourceDeletion: server.serverFeatures.includes('ignore_resource_deletion'),
    });
  }

  /** Reads GRPC_XDS_BOOTSTRAP (a file) or GRPC_XDS_BOOTSTRAP_CONFIG (inline JSON). */
  static async fromEnvironment(options: Omit<XdsOptions, 'bootstrap'> & { env?: Env } = {}): Promise<Xds> {
    const env = options.env ?? process.env;
    if (!hasBootstrapEnv(env)) {
      throw new BootstrapError(
        'environment',
        'GRPC_XDS_BOOTSTRAP',
        'neither GRPC_XDS_BOOTSTRAP nor GRPC_XDS_BOOTSTRAP_CONFIG is set (use istiodBootstrap() to talk to istiod directly)',
      );
    }
    return new Xds({ ...options, bootstrap: await loadBootstrap({ env }) });
  }

  /**
   * The resolver of a `host:port` target (the authority of the URL being called). It follows
   * LDS → RDS → CDS → EDS and publishes a complete snapshot on every change. One per target,
   * shared by every caller.
   */
  resolve(target: string): TargetResolver {
    let r = this.resolvers.get(target);
    if (r === undefined) {
      const listenerName = applyResourceNameTemplate(this.bootstrap.clientDefaultListenerResourceNameTemplate, target);
      r = new TargetResolver(this.client, resourceTypes, target, listenerName);
      this.resolvers.set(target, r);
    }
    return r;
  }

  /** Stops resolving a target (its watches are released). */
  release(target: string): void {
    this.resolvers.get(target)?.close();
    this.resolvers.delete(target);
  }

  /**
   * Stops resolving a target only if nobody subscribes to its resolver any more: one user of a
   * shared Xds letting go of a target (an idle mesh target, as gRPC drops an idle channel's
   * resolver) leaves it resolving for the others. True when the resolver was closed; the next
   * `resolve(target)` starts afresh.
   */
  releaseUnused(target: string): boolean {
    const r = this.resolvers.get(target);
    if (r === undefined || r.subscribers > 0) return false;
    this.release(target);
    return true;
  }

  close(): void {
    for (const r of this.resolvers.values()) r.close();
    this.resolvers.clear();
    this.client.close();
  }
}
