// Turns one YAML document into validated config entries ("units": the document itself, each item
// of a `List`, each service of an Inboard `Registry`), or into located problems.
import type { ConfigEntry, EndpointCandidate, EntryBody, ObjectRef } from './config-entry.ts';
import { GATEWAY_API_GROUP, type KindInfo, lookupKind, supportedApiVersions } from './config-kinds.ts';
import { lintIstioObject } from './config-lint.ts';
import type { ConfigProblem } from './config-problem.ts';
import { formatFieldPath } from './config-problem.ts';
import type { EndpointHealth, IstioObject, MeshConfig, RegistryEndpoint, RegistryService } from './istio-types.ts';
import {
  type K8sEndpointSliceBody,
  type K8sEndpointsBody,
  type K8sPodBody,
  type K8sServiceSpec,
  type RegistryEndpointInput,
  type RegistryServiceInput,
  registryEnvelopeSchema,
  registryServiceSchema,
} from './registry-schemas.ts';
import { type FieldIssue, parseTolerant } from './schema-parse.ts';
import { compact, stableJson } from './stable-json.ts';
import type { FieldPath, SourceDocument } from './yaml-documents.ts';

export interface UnitOutcome {
  /** Where the unit sits in its file: `3` (document 3) or `3/items[1]`. Used to keep a previous version. */
  readonly position: string;
  /** The object's identity as far as the raw text tells it (even when invalid). */
  readonly identity: ObjectRef | undefined;
  /** The accepted object; undefined when invalid or skipped. */
  readonly entry: ConfigEntry | undefined;
  /** True when the unit was rejected (errors), false when accepted or skipped. */
  readonly invalid: boolean;
  readonly errors: readonly ConfigProblem[];
  readonly warnings: readonly ConfigProblem[];
}

export interface ReadContext {
  readonly file: string;
  readonly defaultNamespace: string;
}

/** Endpoint slices name their service with this label. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function readDocumentUnits(doc: SourceDocument, ctx: ReadContext): UnitOutcome[] {
  const at = (path: FieldPath) => ({ file: ctx.file, document: doc.index, line: doc.lineOf(path) });
  if (doc.syntaxError !== undefined) {
    return [
      {
        position: String(doc.index),
        identity: undefined,
        entry: undefined,
        invalid: true,
        errors: [
          {
            severity: 'error',
            file: ctx.file,
            document: doc.index,
            line: doc.syntaxError.line,
            message: `YAML syntax error: ${doc.syntaxError.message}`,
          },
        ],
        warnings: [],
      },
    ];
  }
  const value = doc.value;
  // `---` followed by nothing (or `null`) is an empty document, as kubectl treats it.
  if (value === null || value === undefined) return [];
  if (!isRecord(value)) {
    return [
      invalidUnit(String(doc.index), undefined, {
        severity: 'error',
        ...at([]),
        message: 'expected a Kubernetes object (apiVersion, kind, metadata, spec)',
      }),
    ];
  }
  const kind = value['kind'];
  const apiVersion = value['apiVersion'];
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value['items'])) {
    const items = value['items'] as unknown[];
    return items.flatMap((item, i) => readUnit(item, ['items', i], `${doc.index}/items[${i}]`, doc, ctx));
  }
  if (kind === 'Registry' && typeof apiVersion === 'string') {
    const lookup = lookupKind(apiVersion, kind);
    if ('found' in lookup) return readRegistry(value, [], String(doc.index), doc, ctx);
  }
  return readUnit(value, [], String(doc.index), doc, ctx);
}

function invalidUnit(position: string, identity: ObjectRef | undefined, ...errors: ConfigProblem[]): UnitOutcome {
  return { position, identity, entry: undefined, invalid: true, errors, warnings: [] };
}

function rawIdentity(raw: Record<string, unknown>, defaultNamespace: string): ObjectRef | undefined {
  const kind = raw['kind'];
  const meta = raw['metadata'];
  if (typeof kind !== 'string') return undefined;
  if (kind === 'MeshConfig') return { kind, namespace: '', name: 'mesh' };
  if (!isRecord(meta) || typeof meta['name'] !== 'string') return undefined;
  const ns = typeof meta['namespace'] === 'string' ? meta['namespace'] : defaultNamespace;
  // a Gateway API Gateway is not an Istio Gateway: its own kind.group name, as kubectl spells it
  const apiVersion = raw['apiVersion'];
  if (kind === 'Gateway' && typeof apiVersion === 'string' && apiVersion.startsWith(`${GATEWAY_API_GROUP}/`))
    return { kind: `Gateway.${GATEWAY_API_GROUP}`, namespace: ns, name: meta['name'] };
  return { kind, namespace: ns, name: meta['name'] };
}

function problemsAt(
  issues: readonly FieldIssue[],
  prefix: FieldPath,
  doc: SourceDocument,
  ctx: ReadContext,
  identity: ObjectRef | undefined,
  severity: 'error' | 'warning',
): ConfigProblem[] {
  return issues.map((issue) => {
    const full = [...prefix, ...issue.path];
    return {
      severity,
      file: ctx.file,
      document: doc.index,
      line: doc.lineOf(full),
      kind: identity?.kind,
      namespace: identity?.namespace === '' ? undefined : identity?.namespace,
      name: identity?.name,
      field: formatFieldPath(full),
      message: issue.message,
    };
  });
}

function readUnit(
  raw: unknown,
  prefix: FieldPath,
  position: string,
  doc: SourceDocument,
  ctx: ReadContext,
): UnitOutcome[] {
  const here = (path: FieldPath, message: string, identity?: ObjectRef): ConfigProblem => ({
    severity: 'error',
    file: ctx.file,
    document: doc.index,
    line: doc.lineOf([...prefix, ...path]),
    kind: identity?.kind,
    namespace: identity?.namespace,
    name: identity?.name,
    field: formatFieldPath([...prefix, ...path]) || undefined,
    message,
  });
  if (!isRecord(raw))
    return [
      invalidUnit(position, undefined, here([], 'expected a Kubernetes object (apiVersion, kind, metadata, spec)')),
    ];
  const identity = rawIdentity(raw, ctx.defaultNamespace);
  const apiVersion = raw['apiVersion'];
  const kind = raw['kind'];
  const missing: ConfigProblem[] = [];
  if (typeof apiVersion !== 'string')
    missing.push(here(['apiVersion'], apiVersion === undefined ? 'Required' : 'expected string'));
  if (typeof kind !== 'string') missing.push(here(['kind'], kind === undefined ? 'Required' : 'expected string'));
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return [invalidUnit(position, identity, ...missing)];

  const lookup = lookupKind(apiVersion, kind);
  if ('skip' in lookup) {
    const note: ConfigProblem = { ...here([], lookup.skip, identity), severity: 'warning', field: undefined };
    return [{ position, identity, entry: undefined, invalid: false, errors: [], warnings: [note] }];
  }
  if ('badVersion' in lookup) {
    return [
      invalidUnit(
        position,
        identity,
        here(
          ['apiVersion'],
          `unsupported apiVersion "${apiVersion}" for ${kind} (supported: ${supportedApiVersions(lookup.badVersion).join(', ')})`,
          identity,
        ),
      ),
    ];
  }
  const info = lookup.found;
  if (info.category === 'registry') return readRegistry(raw, prefix, position, doc, ctx);
  // Namespaced objects without a namespace land in the default one, as `kubectl apply` does.
  let input: Record<string, unknown> = raw;
  const meta = raw['metadata'];
  if (info.category !== 'mesh-config' && isRecord(meta) && meta['namespace'] === undefined) {
    input = { ...raw, metadata: { ...meta, namespace: ctx.defaultNamespace } };
  }
  if (info.schema === undefined) throw new Error(`no schema for ${info.kind}`);
  const parsed = parseTolerant(info.schema, input);
  const warnings = problemsAt(parsed.unknown, prefix, doc, ctx, identity, 'warning');
  if (!parsed.ok) {
    return [
      {
        position,
        identity,
        entry: undefined,
        invalid: true,
        errors: problemsAt(parsed.errors, prefix, doc, ctx, identity, 'error'),
        warnings,
      },
    ];
  }
  const converted = toBody(info, parsed.value);
  if ('error' in converted) {
    return [
      {
        position,
        identity,
        entry: undefined,
        invalid: true,
        errors: problemsAt([converted.error], prefix, doc, ctx, identity, 'error'),
        warnings,
      },
    ];
  }
  const body = converted.body;
  if (body.type === 'istio')
    warnings.push(...problemsAt(lintIstioObject(body.object), prefix, doc, ctx, identity, 'warning'));
  const ref = identity ?? { kind: info.kind, namespace: '', name: '' };
  const entry: ConfigEntry = {
    ref,
    source: { file: ctx.file, document: doc.index, line: doc.lineOf(prefix) },
    body,
    hash: stableJson(body),
  };
  return [{ position, identity: ref, entry, invalid: false, errors: [], warnings }];
}

type Converted = { readonly body: EntryBody } | { readonly error: FieldIssue };

function toBody(info: KindInfo, value: unknown): Converted {
  switch (info.category) {
    case 'istio':
      return { body: { type: 'istio', object: value as IstioObject } };
    case 'mesh-config':
      return { body: { type: 'mesh-config', meshConfig: (value as { spec: MeshConfig }).spec } };
    case 'k8s-service': {
      const svc = value as {
        metadata: {
          name: string;
          namespace: string;
          labels?: Record<string, string>;
          annotations?: Record<string, string>;
        };
        spec: K8sServiceSpec;
      };
      const exportAnnotation = svc.metadata.annotations?.[EXPORT_TO_ANNOTATION];
      const service: RegistryService = compact({
        name: svc.metadata.name,
        namespace: svc.metadata.namespace,
        ports: (svc.spec.ports ?? []).map((p) => compact(p)),
        labels: svc.metadata.labels,
        selector: svc.spec.selector ?? undefined,
        clusterIP: svc.spec.clusterIP,
        exportTo: exportAnnotation
          ?.split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      });
      return { body: { type: 'service', service, endpoints: undefined } };
    }
    case 'k8s-endpoints': {
      const ep = value as { metadata: { name: string; namespace: string } } & K8sEndpointsBody;
      const endpoints: EndpointCandidate[] = [];
      for (const subset of ep.subsets ?? []) {
        const ports = (subset.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port }));
        const add = (list: typeof subset.addresses, health: EndpointHealth) => {
          for (const a of list ?? []) {
            endpoints.push({
              address: a.ip,
              ports,
              health,
              podName: a.targetRef?.kind === 'Pod' ? a.targetRef.name : undefined,
            });
          }
        };
        add(subset.addresses, 'HEALTHY');
        add(subset.notReadyAddresses, 'UNHEALTHY');
      }
      return {
        body: {
          type: 'endpoints',
          source: 'Endpoints',
          namespace: ep.metadata.namespace,
          service: ep.metadata.name,
          endpoints,
        },
      };
    }
    case 'k8s-endpointslice': {
      const slice = value as {
        metadata: { namespace: string; labels?: Record<string, string> };
      } & K8sEndpointSliceBody;
      const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (service === undefined || service === '') {
        return {
          error: {
            path: ['metadata', 'labels'],
            message: `an EndpointSlice needs the ${SERVICE_NAME_LABEL} label to name its Service`,
          },
        };
      }
      const ports = (slice.ports ?? []).flatMap((p) =>
        p.port === null || p.port === undefined ? [] : [{ name: p.name ?? '', port: p.port }],
      );
      const endpoints: EndpointCandidate[] = (slice.endpoints ?? []).map((e) => {
        const c = e.conditions ?? {};
        // Kubernetes: a nil `ready` means ready. Terminating but still serving endpoints are draining.
        const health: EndpointHealth =
          c.ready !== false ? 'HEALTHY' : c.serving === true && c.terminating === true ? 'DRAINING' : 'UNHEALTHY';
        return {
          address: e.addresses[0] as string,
          ports,
          health,
          podName: e.targetRef?.kind === 'Pod' ? e.targetRef.name : undefined,
        };
      });
      return {
        body: { type: 'endpoints', source: 'EndpointSlice', namespace: slice.metadata.namespace, service, endpoints },
      };
    }
    case 'k8s-pod': {
      const pod = value as {
        metadata: { name: string; namespace: string; labels?: Record<string, string> };
      } & K8sPodBody;
      const ips = pod.status?.podIPs?.map((p) => p.ip) ?? (pod.status?.podIP === undefined ? [] : [pod.status.podIP]);
      return {
        body: {
          type: 'pod',
          namespace: pod.metadata.namespace,
          name: pod.metadata.name,
          pod: { labels: pod.metadata.labels ?? {}, serviceAccount: pod.spec?.serviceAccountName ?? 'default', ips },
        },
      };
    }
    case 'registry':
      throw new Error('Registry documents are read by readRegistry');
  }
}

function readRegistry(
  raw: Record<string, unknown>,
  base: FieldPath,
  basePosition: string,
  doc: SourceDocument,
  ctx: ReadContext,
): UnitOutcome[] {
  const envelope = parseTolerant(registryEnvelopeSchema, raw);
  if (!envelope.ok) {
    return [
      {
        position: basePosition,
        identity: undefined,
        entry: undefined,
        invalid: true,
        errors: problemsAt(envelope.errors, base, doc, ctx, { kind: 'Registry', namespace: '', name: '' }, 'error').map(
          (p) => ({ ...p, name: undefined }),
        ),
        warnings: [],
      },
    ];
  }
  const namespace = envelope.value.metadata?.namespace ?? ctx.defaultNamespace;
  return envelope.value.spec.services.map((item, i) => {
    const prefix: FieldPath = [...base, 'spec', 'services', i];
    const position = `${basePosition}/services[${i}]`;
    const identity =
      isRecord(item) && typeof item['name'] === 'string'
        ? {
            kind: 'Service',
            namespace: typeof item['namespace'] === 'string' ? item['namespace'] : namespace,
            name: item['name'],
          }
        : undefined;
    const parsed = parseTolerant(registryServiceSchema, item);
    const warnings = problemsAt(parsed.unknown, prefix, doc, ctx, identity, 'warning');
    if (!parsed.ok) {
      return {
        position,
        identity,
        entry: undefined,
        invalid: true,
        errors: problemsAt(parsed.errors, prefix, doc, ctx, identity, 'error'),
        warnings,
      };
    }
    const body = registryBody(parsed.value, namespace);
    const ref = { kind: 'Service', namespace: body.service.namespace, name: body.service.name };
    const entry: ConfigEntry = {
      ref,
      source: { file: ctx.file, document: doc.index, line: doc.lineOf(prefix) },
      body,
      hash: stableJson(body),
    };
    return { position, identity: ref, entry, invalid: false, errors: [], warnings };
  });
}

function registryBody(svc: RegistryServiceInput, defaultNamespace: string): EntryBody & { type: 'service' } {
  const service: RegistryService = compact({
    name: svc.name,
    namespace: svc.namespace ?? defaultNamespace,
    ports: svc.ports.map((p) => compact({ ...p })),
    labels: svc.labels,
    selector: svc.selector,
    clusterIP: svc.clusterIP,
    exportTo: svc.exportTo,
  });
  const endpoints = svc.endpoints?.map((ep) => registryEndpoint(ep, service));
  return { type: 'service', service, endpoints: endpoints ?? [] };
}

/** Resolves the `port` shorthand into the contract's per-service-port map. */
function registryEndpoint(ep: RegistryEndpointInput, service: RegistryService): RegistryEndpoint {
  const ports: Record<string, number> = {};
  for (const p of service.ports) {
    const key = p.name ?? String(p.port);
    const value = (p.name === undefined ? undefined : ep.ports?.[p.name]) ?? ep.ports?.[String(p.port)] ?? ep.port;
    if (value !== undefined) ports[key] = value;
  }
  return compact({
    address: ep.address,
    ports: Object.keys(ports).length > 0 ? ports : undefined,
    labels: ep.labels,
    locality: ep.locality,
    weight: ep.weight,
    serviceAccount: ep.serviceAccount,
    workloadName: ep.workloadName,
    tlsMode: ep.tlsMode,
    health: ep.health,
    network: ep.network,
    clusterId: ep.clusterId,
  });
}
