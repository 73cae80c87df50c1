// Checks across objects that istiod's analyzers make: the ones where istiod silently picks one
// object over another, so the user would not otherwise know a config has no effect.

import { meshDefaultExportTo } from '../translate/hostnames.ts';
import { mergeDelegateVirtualServices } from '../translate/virtual-service-delegation.ts';
import { type ConfigEntry, entryProblem } from './config-entry.ts';
import { type ConfigProblem, formatFieldPath } from './config-problem.ts';
import type {
  BackendObjectReference,
  GatewayGRPCRoute,
  GatewayHTTPRoute,
  MeshConfig,
  VirtualService,
} from './istio-types.ts';

export function crossObjectWarnings(
  entries: readonly ConfigEntry[],
  meshConfig: MeshConfig | undefined,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const mesh = entries.find((e) => e.body.type === 'mesh-config');
  const rootNamespace =
    (mesh?.body.type === 'mesh-config' ? mesh.body.meshConfig.rootNamespace : undefined) ??
    meshConfig?.rootNamespace ??
    'istio-system';
  const firstBy = new Map<string, ConfigEntry>();
  const note = (e: ConfigEntry, group: string, message: (first: ConfigEntry) => string) => {
    const first = firstBy.get(group);
    if (first === undefined) {
      firstBy.set(group, e);
      return;
    }
    out.push(entryProblem(e, 'warning', message(first)));
  };
  out.push(...gatewayRouteWarnings(entries, meshConfig));
  out.push(...delegationWarnings(entries, meshConfig));
  for (const e of entries) {
    if (e.body.type !== 'istio') continue;
    const o = e.body.object;
    if (o.kind === 'Sidecar' && o.spec.workloadSelector === undefined) {
      note(
        e,
        `sidecar/${o.metadata.namespace}`,
        (f) =>
          `more than one Sidecar without workloadSelector in namespace ${o.metadata.namespace}; only ${f.ref.name} applies`,
      );
    }
    if (o.kind === 'PeerAuthentication' && o.spec.selector === undefined) {
      const scope = o.metadata.namespace === rootNamespace ? 'mesh-wide' : `namespace-wide (${o.metadata.namespace})`;
      note(
        e,
        `pa/${o.metadata.namespace}`,
        (f) => `more than one ${scope} PeerAuthentication; only ${f.ref.name} applies`,
      );
    }
  }
  return out;
}

/**
 * HTTPRoutes and GRPCRoutes whose references resolve to nothing (istiod reports them in the route status, which
 * files do not have), and an HTTPRoute and a VirtualService routing the same Service host (istiod
 * applies one per client: see the README).
 */
function gatewayRouteWarnings(entries: readonly ConfigEntry[], meshConfig: MeshConfig | undefined): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const mesh = entries.find((e) => e.body.type === 'mesh-config');
  const suffix =
    (mesh?.body.type === 'mesh-config' ? mesh.body.meshConfig.domainSuffix : undefined) ??
    meshConfig?.domainSuffix ??
    'cluster.local';
  const services = new Set<string>();
  const gateways = new Set<string>();
  const vsHosts = new Map<string, string>();
  for (const e of entries) {
    if (e.body.type === 'service') services.add(`${e.body.service.namespace}/${e.body.service.name}`);
    if (e.body.type === 'istio' && e.body.object.kind === 'KubernetesGateway')
      gateways.add(`${e.body.object.metadata.namespace}/${e.body.object.metadata.name}`);
    if (e.body.type === 'istio' && e.body.object.kind === 'VirtualService') {
      const vs = e.body.object;
      const gateways = vs.spec.gateways ?? [];
      if (gateways.length > 0 && !gateways.includes('mesh')) continue;
      for (const h of vs.spec.hosts ?? []) {
        const host = h.includes('.') || h === '*' ? h : `${h}.${vs.metadata.namespace}.svc.${suffix}`;
        if (!vsHosts.has(host)) vsHosts.set(host, `${vs.metadata.namespace}/${vs.metadata.name}`);
      }
    }
  }
  for (const e of entries) {
    if (e.body.type !== 'istio') continue;
    const obj = e.body.object;
    if (obj.kind !== 'HTTPRoute' && obj.kind !== 'GRPCRoute') continue;
    const route: GatewayHTTPRoute | GatewayGRPCRoute = obj;
    const ns = route.metadata.namespace;
    let ingress = false;
    for (const p of route.spec.parentRefs ?? []) {
      if (
        (p.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' &&
        (p.kind ?? 'Gateway') === 'Gateway'
      ) {
        ingress = true;
        const key = `${p.namespace ?? ns}/${p.name}`;
        if (!gateways.has(key))
          out.push(entryProblem(e, 'warning', `parent Gateway ${key} not found: the route is not attached to it`));
        continue;
      }
      if (p.group !== '' || (p.kind ?? 'Gateway') !== 'Service') continue;
      const key = `${p.namespace ?? ns}/${p.name}`;
      if (!services.has(key)) {
        out.push(entryProblem(e, 'warning', `parent Service ${key} not found: the route is not attached to it`));
        continue;
      }
      const host = `${p.name}.${p.namespace ?? ns}.svc.${suffix}`;
      const other = vsHosts.get(host);
      if (other !== undefined) {
        out.push(
          entryProblem(
            e,
            'warning',
            `VirtualService ${other} also routes ${host}: a client uses one of them (private or exported VirtualServices first, then HTTPRoutes of its own namespace, then the oldest)`,
          ),
        );
      }
    }
    const missing = new Set<string>();
    for (const rule of route.spec.rules ?? []) {
      const refs = [
        ...(rule.backendRefs ?? []).map((b) => ({ ref: b, what: 'backendRef', effect: 'requests sent to it get 500' })),
        ...(rule.filters ?? []).flatMap((f: { requestMirror?: { backendRef: BackendObjectReference } }) =>
          f.requestMirror === undefined
            ? []
            : [{ ref: f.requestMirror.backendRef, what: 'mirror backendRef', effect: 'nothing is mirrored to it' }],
        ),
      ];
      for (const { ref, what, effect } of refs) {
        if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') continue;
        const key = `${ref.namespace ?? ns}/${ref.name}`;
        if (ingress && (ref.namespace ?? ns) !== ns && !missing.has(`grant ${key}`)) {
          missing.add(`grant ${key}`);
          out.push(
            entryProblem(
              e,
              'warning',
              `${what} Service ${key} is in another namespace: through a Gateway that needs a ReferenceGrant, which Inboard does not read (${effect} there)`,
            ),
          );
        }
        if (services.has(key) || missing.has(`${what} ${key}`)) continue;
        missing.add(`${what} ${key}`);
        out.push(entryProblem(e, 'warning', `${what} Service ${key} not found: ${effect}`));
      }
    }
  }
  return out;
}

/**
 * What merging delegate VirtualServices into their roots leaves out (istiod logs it as it builds a
 * push context): a root route whose delegate is missing or not exported to the root's namespace,
 * and a delegate route whose match is not within the root route's.
 */
function delegationWarnings(entries: readonly ConfigEntry[], meshConfig: MeshConfig | undefined): ConfigProblem[] {
  const mesh = entries.find((e) => e.body.type === 'mesh-config');
  const settings = (mesh?.body.type === 'mesh-config' ? mesh.body.meshConfig : undefined) ?? meshConfig;
  const byObject = new Map<VirtualService, ConfigEntry>();
  for (const e of entries) {
    if (e.body.type === 'istio' && e.body.object.kind === 'VirtualService') byObject.set(e.body.object, e);
  }
  if (![...byObject.keys()].some((vs) => (vs.spec.http ?? []).some((h) => h.delegate !== undefined))) return [];
  const { notes } = mergeDelegateVirtualServices([...byObject.keys()], {
    defaultExportTo: meshDefaultExportTo(settings?.defaultVirtualServiceExportTo),
    domainSuffix: settings?.domainSuffix ?? 'cluster.local',
  });
  const out: ConfigProblem[] = [];
  for (const n of notes) {
    const e = byObject.get(n.object);
    if (e !== undefined) out.push({ ...entryProblem(e, 'warning', n.message), field: formatFieldPath(n.path) });
  }
  return out;
}
