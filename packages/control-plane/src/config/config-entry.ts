// What one validated object of a config source becomes before the snapshot is assembled.

import type { ConfigProblem, ProblemSeverity } from './config-problem.ts';
import type { EndpointHealth, IstioObject, MeshConfig, RegistryEndpoint, RegistryService } from './istio-types.ts';

/** Identity of an object: kind, namespace, name (a name is unique per kind and namespace). */
export interface ObjectRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export function refKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** Where an object was read from. */
export interface EntrySource {
  /** Display path of the file. */
  readonly file: string;
  /** 1-based document index. */
  readonly document: number;
  readonly line: number;
}

/** An endpoint as Kubernetes Endpoints / EndpointSlice describe it, before the join with its Service and Pod. */
export interface EndpointCandidate {
  readonly address: string;
  /** Endpoint port by port name ('' when unnamed). */
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  readonly health: EndpointHealth;
  readonly podName: string | undefined;
}

export interface PodInfo {
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  readonly ips: readonly string[];
}

export type EntryBody =
  | { readonly type: 'istio'; readonly object: IstioObject }
  /** A Service, from a Kubernetes Service or an Inboard Registry (which also carries its endpoints). */
  | {
      readonly type: 'service';
      readonly service: RegistryService;
      readonly endpoints: readonly RegistryEndpoint[] | undefined;
    }
  | {
      readonly type: 'endpoints';
      readonly source: 'Endpoints' | 'EndpointSlice';
      readonly namespace: string;
      readonly service: string;
      readonly endpoints: readonly EndpointCandidate[];
    }
  | { readonly type: 'pod'; readonly namespace: string; readonly name: string; readonly pod: PodInfo }
  | { readonly type: 'mesh-config'; readonly meshConfig: MeshConfig };

export interface ConfigEntry {
  readonly ref: ObjectRef;
  readonly source: EntrySource;
  readonly body: EntryBody;
  /** Stable serialization of `body`, to tell a changed object from an unchanged one. */
  readonly hash: string;
}

/** A problem located at an entry: its file, document, line and object (cluster-scoped: no namespace). */
export function entryProblem(
  entry: ConfigEntry,
  severity: ProblemSeverity,
  message: string,
  at: { readonly document?: number | undefined; readonly line?: number | undefined } = {},
): ConfigProblem {
  return {
    severity,
    file: entry.source.file,
    document: at.document ?? entry.source.document,
    line: at.line ?? entry.source.line,
    kind: entry.ref.kind,
    namespace: entry.ref.namespace === '' ? undefined : entry.ref.namespace,
    name: entry.ref.name,
    message,
  };
}
