// An immutable set of already-encoded xDS resources for one node (or a group of nodes):
// per type URL a version and the resources by name. Encoding happens once, here, so streams
// only copy bytes into responses.
import {
  type Any,
  type ClusterIn,
  type ClusterLoadAssignmentIn,
  type ListenerIn,
  packAny,
  type RouteConfigurationIn,
  TypeUrl,
} from '@inboard/xds/codec';
import { SnapshotError } from './errors.ts';
import { resourceVersion, typeVersion } from './resource-version.ts';

/** One resource as a stream sends it. `version` is the per-resource version used by Delta xDS. */
export interface SnapshotResource {
  readonly name: string;
  readonly version: string;
  readonly resource: Any;
}

/** A resource going into a snapshot; `version` defaults to a stable hash of its bytes. */
export interface SnapshotResourceInput {
  readonly name: string;
  readonly version?: string | undefined;
  readonly resource: Any;
}

/** The resources of one type; `version` defaults to a hash of the resources' names and versions. */
export interface SnapshotTypeInput {
  readonly version?: string | undefined;
  readonly resources: Iterable<SnapshotResourceInput>;
}

export interface SnapshotTypeResources {
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

/** Typed messages for `Snapshot.fromMessages`; each is packed with `packAny` once. */
export interface SnapshotMessages {
  /** Version of every type; when omitted each type gets a hash of its content. */
  readonly version?: string | undefined;
  readonly listeners?: readonly ListenerIn[] | undefined;
  readonly routes?: readonly RouteConfigurationIn[] | undefined;
  readonly clusters?: readonly ClusterIn[] | undefined;
  readonly endpoints?: readonly ClusterLoadAssignmentIn[] | undefined;
}

const EMPTY_RESOURCES: ReadonlyMap<string, SnapshotResource> = new Map();

export class Snapshot {
  readonly #types: ReadonlyMap<string, SnapshotTypeResources>;

  private constructor(types: ReadonlyMap<string, SnapshotTypeResources>) {
    this.#types = types;
  }

  /** A snapshot with no types at all: every request is answered with zero resources and version ''. */
  static empty(): Snapshot {
    return new Snapshot(new Map());
  }

  /** Builds a snapshot from already-packed resources, keyed by type URL. */
  static create(types: Readonly<Record<string, SnapshotTypeInput>>): Snapshot {
    const out = new Map<string, SnapshotTypeResources>();
    for (const [typeUrl, input] of Object.entries(types)) out.set(typeUrl, buildType(typeUrl, input));
    return new Snapshot(out);
  }

  /**
   * Builds a snapshot from typed LDS/RDS/CDS/EDS messages. All four types are present (possibly
   * empty), so a wildcard request for a type with no resources still gets a versioned response.
   */
  static fromMessages(input: SnapshotMessages): Snapshot {
    const version = input.version;
    return Snapshot.create({
      [TypeUrl.Listener]: {
        version,
        resources: (input.listeners ?? []).map((m) => ({
          name: requireName(TypeUrl.Listener, m.name),
          resource: packAny('envoy.config.listener.v3.Listener', m),
        })),
      },
      [TypeUrl.RouteConfiguration]: {
        version,
        resources: (input.routes ?? []).map((m) => ({
          name: requireName(TypeUrl.RouteConfiguration, m.name),
          resource: packAny('envoy.config.route.v3.RouteConfiguration', m),
        })),
      },
      [TypeUrl.Cluster]: {
        version,
        resources: (input.clusters ?? []).map((m) => ({
          name: requireName(TypeUrl.Cluster, m.name),
          resource: packAny('envoy.config.cluster.v3.Cluster', m),
        })),
      },
      [TypeUrl.ClusterLoadAssignment]: {
        version,
        resources: (input.endpoints ?? []).map((m) => ({
          name: requireName(TypeUrl.ClusterLoadAssignment, m.cluster_name),
          resource: packAny('envoy.config.endpoint.v3.ClusterLoadAssignment', m),
        })),
      },
    });
  }

  /** The type URLs this snapshot has an entry for. */
  get typeUrls(): string[] {
    return [...this.#types.keys()];
  }

  /** The version of a type; '' when the snapshot has no entry for it. */
  version(typeUrl: string): string {
    return this.#types.get(typeUrl)?.version ?? '';
  }

  /** The resources of a type by name, in insertion order (that is the order responses use). */
  resources(typeUrl: string): ReadonlyMap<string, SnapshotResource> {
    return this.#types.get(typeUrl)?.resources ?? EMPTY_RESOURCES;
  }

  resource(typeUrl: string, name: string): SnapshotResource | undefined {
    return this.#types.get(typeUrl)?.resources.get(name);
  }

  /** A copy with the resources of one type replaced; the other types share the same encoded bytes. */
  withType(typeUrl: string, input: SnapshotTypeInput): Snapshot {
    const out = new Map(this.#types);
    out.set(typeUrl, buildType(typeUrl, input));
    return new Snapshot(out);
  }
}

function requireName(typeUrl: string, name: string | undefined): string {
  if (name === undefined || name === '') throw new SnapshotError(typeUrl, `a ${typeUrl} resource has no name`);
  return name;
}

function buildType(typeUrl: string, input: SnapshotTypeInput): SnapshotTypeResources {
  const resources = new Map<string, SnapshotResource>();
  for (const r of input.resources) {
    requireName(typeUrl, r.name);
    // A response must never carry the same name twice (clients NACK it), so refuse it here.
    if (resources.has(r.name))
      throw new SnapshotError(typeUrl, `duplicate ${typeUrl} resource ${JSON.stringify(r.name)}`);
    resources.set(r.name, { name: r.name, version: r.version ?? resourceVersion(r.resource), resource: r.resource });
  }
  return { version: input.version ?? typeVersion(resources.values()), resources };
}
