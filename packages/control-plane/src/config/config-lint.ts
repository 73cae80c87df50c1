// Warnings about valid objects: deprecated fields, settings Inboard ignores, rules that can never
// match. istiod reports the same ones as validation warnings; none of them rejects the object.

import type { HTTPRouteMatch, HTTPRouteRule, IstioObject } from './istio-types.ts';
import type { FieldIssue } from './schema-parse.ts';

export function lintIstioObject(obj: IstioObject): FieldIssue[] {
  const out: FieldIssue[] = [];
  const warn = (path: PropertyKey[], message: string) => out.push({ path, message });
  switch (obj.kind) {
    case 'VirtualService': {
      const http = obj.spec.http ?? [];
      http.forEach((route, i) => {
        const p = ['spec', 'http', i];
        if ((route.match?.length ?? 0) === 0 && i < http.length - 1) {
          warn(
            p,
            `rule #${i} has no match, so the rules after it are never used (only the last rule can have no matches)`,
          );
        }
        if (route.mirrorPercent !== undefined)
          warn([...p, 'mirrorPercent'], 'mirrorPercent is deprecated, use mirrorPercentage');
        if (route.fault?.delay?.percent !== undefined)
          warn([...p, 'fault', 'delay', 'percent'], 'percent is deprecated, use percentage');
        const abort = route.fault?.abort;
        if (
          abort !== undefined &&
          abort.httpStatus === undefined &&
          abort.grpcStatus === undefined &&
          abort.http2Error === undefined
        ) {
          warn([...p, 'fault', 'abort'], 'abort configured, but error type not set');
        }
      });
      if ((obj.spec.tcp?.length ?? 0) > 0)
        warn(['spec', 'tcp'], 'tcp routes are validated but not used: Inboard routes HTTP only');
      if ((obj.spec.tls?.length ?? 0) > 0)
        warn(['spec', 'tls'], 'tls routes are validated but not used: Inboard routes HTTP only');
      for (const [i, g] of (obj.spec.gateways ?? []).entries()) {
        if (!g.includes('/') && g !== 'mesh' && g.includes('.'))
          warn(['spec', 'gateways', i], `legacy gateway name "${g}"; prefer <namespace>/<name>`);
      }
      break;
    }
    case 'DestinationRule': {
      const policies = [
        { path: ['spec', 'trafficPolicy'], policy: obj.spec.trafficPolicy },
        ...(obj.spec.subsets ?? []).map((s, i) => ({
          path: ['spec', 'subsets', i, 'trafficPolicy'],
          policy: s.trafficPolicy,
        })),
      ];
      for (const { path, policy } of policies) {
        if (policy?.loadBalancer?.consistentHash?.minimumRingSize !== undefined) {
          warn(
            [...path, 'loadBalancer', 'consistentHash', 'minimumRingSize'],
            'minimumRingSize is deprecated, use ringHash.minimumRingSize',
          );
        }
        const tlsSettings = [
          { at: [...path, 'tls'], tls: policy?.tls },
          ...(policy?.portLevelSettings ?? []).map((pl, i) => ({
            at: [...path, 'portLevelSettings', i, 'tls'],
            tls: pl.tls,
          })),
        ];
        for (const { at, tls } of tlsSettings) {
          if ((tls?.mode === 'SIMPLE' || tls?.mode === 'MUTUAL') && (tls.credentialName ?? '') !== '') {
            warn(
              [...at, 'credentialName'],
              'credentialName is not supported: Inboard reads no Secrets, so the cluster gets no TLS (as istiod for a sidecar without workloadSelector); use caCertificates / clientCertificate / privateKey files',
            );
          }
        }
        if (policy?.outlierDetection?.consecutiveErrors !== undefined) {
          warn(
            [...path, 'outlierDetection', 'consecutiveErrors'],
            'consecutiveErrors is deprecated, use consecutive5xxErrors or consecutiveGatewayErrors',
          );
        }
      }
      if (
        obj.spec.workloadSelector !== undefined &&
        Object.keys(obj.spec.workloadSelector.matchLabels ?? {}).length === 0
      ) {
        warn(['spec', 'workloadSelector'], 'workload selector specified without labels');
      }
      break;
    }
    case 'Gateway':
      (obj.spec.servers ?? []).forEach((s, i) => {
        const proto = (s.port.protocol ?? '').toLowerCase();
        if (s.tls?.httpsRedirect === true && !['http', 'http2', 'grpc', 'grpc-web'].includes(proto)) {
          warn(
            ['spec', 'servers', i, 'tls', 'httpsRedirect'],
            'tls.httpsRedirect should only be used with http servers',
          );
        }
      });
      break;
    case 'Sidecar':
    case 'ServiceEntry':
      if (obj.spec.workloadSelector !== undefined && Object.keys(obj.spec.workloadSelector.labels ?? {}).length === 0) {
        warn(
          ['spec', 'workloadSelector'],
          'workload selector specified without labels: it applies to every workload in the namespace',
        );
      }
      break;
    case 'AuthorizationPolicy':
    case 'RequestAuthentication':
    case 'PeerAuthentication':
      if (obj.spec.selector !== undefined && Object.keys(obj.spec.selector.matchLabels ?? {}).length === 0) {
        warn(['spec', 'selector'], 'workload selector specified without labels');
      }
      break;
    case 'HTTPRoute':
    case 'GRPCRoute': {
      const refs = obj.spec.parentRefs ?? [];
      if (refs.length === 0) warn(['spec'], 'no parentRefs: the route is attached to nothing');
      let mesh = 0;
      refs.forEach((r, i) => {
        const p = ['spec', 'parentRefs', i];
        const group = r.group ?? 'gateway.networking.k8s.io';
        const kind = r.kind ?? 'Gateway';
        if ((group === '' && kind === 'Service') || (group === 'networking.istio.io' && kind === 'ServiceEntry')) {
          mesh++;
          if (r.sectionName !== undefined)
            warn([...p, 'sectionName'], 'sectionName is ignored for a Service parent (as istiod does); use port');
        } else if (kind === 'Service') {
          warn(p, `kind Service without group "" is ${group}/Service, not a Service: set group: "" to route for it`);
        } else if (group === 'gateway.networking.k8s.io' && kind === 'Gateway') {
          // an ingress parent: resolved across objects (cross-checks.ts)
        } else {
          warn(p, `parent ${group}/${kind} is ignored (routes attach to a Gateway, a Service or a ServiceEntry)`);
        }
      });
      if (mesh > 0 && mesh === refs.length && (obj.spec.hostnames?.length ?? 0) > 0)
        warn(
          ['spec', 'hostnames'],
          "hostnames are ignored for Service parents: the route applies to the Service's host",
        );
      if (obj.kind === 'HTTPRoute') unreachableRegexes(obj.spec.rules ?? [], warn);
      (obj.spec.rules ?? []).forEach((rule, i) => {
        (rule.backendRefs ?? []).forEach((b, j) => {
          const group = b.group ?? '';
          const kind = b.kind ?? 'Service';
          if ((group === '' && kind === 'Service') || (group === 'networking.istio.io' && kind === 'Hostname')) return;
          warn(
            ['spec', 'rules', i, 'backendRefs', j],
            `backendRef ${group}/${kind} is not supported: requests sent to it get 500`,
          );
        });
      });
      break;
    }
    case 'KubernetesGateway':
      if (obj.spec.gatewayClassName !== 'istio')
        warn(
          ['spec', 'gatewayClassName'],
          `gatewayClassName "${obj.spec.gatewayClassName}" is not served: Inboard serves the istio class (istiod's built-in one)`,
        );
      obj.spec.listeners.forEach((l, i) => {
        if (l.protocol !== 'HTTP')
          warn(
            ['spec', 'listeners', i, 'protocol'],
            `${l.protocol} listeners are not served by Inboard (plain-text HTTP only)`,
          );
        if (l.allowedRoutes?.namespaces?.from === 'Selector')
          warn(
            ['spec', 'listeners', i, 'allowedRoutes', 'namespaces'],
            'namespace selectors cannot be evaluated (config files carry no Namespace labels): no route attaches',
          );
      });
      break;
    default:
      break;
  }
  return out;
}

/** A match of every request: `PathPrefix /` (the API server's default) with no header, query or method. */
function matchesEverything(m: HTTPRouteMatch): boolean {
  return (
    (m.path?.type ?? 'PathPrefix') === 'PathPrefix' &&
    (m.path?.value ?? '/') === '/' &&
    (m.headers?.length ?? 0) === 0 &&
    (m.queryParams?.length ?? 0) === 0 &&
    m.method === undefined
  );
}

/**
 * istiod sorts a route's matches exact, then prefix, then regex, whatever their headers, and the
 * routes after one that matches every request are cut off: with a `PathPrefix /` catch-all (a rule
 * without matches gets one), every RegularExpression path match of the route is never used.
 */
function unreachableRegexes(
  rules: readonly HTTPRouteRule[],
  warn: (path: PropertyKey[], message: string) => void,
): void {
  const catchAll = rules.findIndex((r) =>
    r.matches === undefined ? true : r.matches.some((m) => matchesEverything(m)),
  );
  if (catchAll < 0) return;
  rules.forEach((rule, i) => {
    (rule.matches ?? []).forEach((m, j) => {
      if (m.path?.type !== 'RegularExpression') return;
      warn(
        ['spec', 'rules', i, 'matches', j, 'path'],
        `a RegularExpression path is never matched: rule #${catchAll} matches every path (PathPrefix /) and istiod orders every regex after every prefix`,
      );
    });
  });
}
