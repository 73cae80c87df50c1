// networking.istio.io specs (Gateway, VirtualService, DestinationRule, ServiceEntry, WorkloadEntry,
// Sidecar) as zod schemas. Field names and rules follow Istio's API and istiod's validation
// (pkg/config/validation); each schema's output type is the contract type the translator reads.
import { z } from 'zod';
import type {
  ClientTLSSettings,
  ConnectionPoolSettings,
  CorsPolicy,
  Destination,
  DestinationRuleSpec,
  GatewaySpec,
  HeaderOperations,
  Headers,
  HTTPFaultInjection,
  HTTPMatchRequest,
  HTTPRetry,
  HTTPRoute,
  HTTPRouteDestination,
  L4MatchAttributes,
  LoadBalancerSettings,
  LocalityLoadBalancerSetting,
  OutlierDetection,
  RouteDestination,
  Server,
  ServerTLSSettings,
  ServiceEntrySpec,
  SidecarSpec,
  TrafficPolicy,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from './istio-types.ts';
import {
  dnsLabel,
  duration,
  exportTo,
  host,
  intPercent,
  ipOrCidrError,
  isDns1123Label,
  isIpAddress,
  labels,
  nonNegativeInt,
  percent,
  port,
  protocol,
  re2Pattern,
  selectorLabels,
  stringMatch,
  valid,
  wildcardDomainError,
} from './schema-primitives.ts';

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;
const JWT_CLAIM_HEADER = /^@request\.auth\.claims(\.[^.]+|\[[^\]]+\])+$/;
// Control characters other than tab are not valid in a header value (Envoy NACKs them).
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is exactly what is checked
const BAD_HEADER_VALUE = /[\u0000-\u0008\u000A-\u001F\u007F]/;
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);
const GRPC_STATUS = new Set([
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]);

function custom(ctx: z.RefinementCtx, message: string, path?: PropertyKey[]): void {
  ctx.addIssue(path === undefined ? { code: 'custom', message } : { code: 'custom', message, path });
}

// ------------------------------------------------------------------------------------------------
// VirtualService
// ------------------------------------------------------------------------------------------------

const matchHeaders = z.record(z.string(), stringMatch).superRefine((map, ctx) => {
  for (const name of Object.keys(map)) {
    if (!HEADER_NAME.test(name) && !JWT_CLAIM_HEADER.test(name))
      custom(ctx, `"${name}" is not a valid header name`, [name]);
  }
});

const stringMatchMap = z.record(z.string(), stringMatch);

export const destinationSchema: z.ZodType<Destination> = z
  .strictObject({
    host: z.string(),
    subset: dnsLabel.optional(),
    port: z.strictObject({ number: port.optional() }).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.host === '*') custom(ctx, 'invalid destination host "*"', ['host']);
    else {
      const err = wildcardDomainError(d.host);
      if (err !== undefined) custom(ctx, err, ['host']);
    }
  });

function headerOperations(direction: 'request' | 'response'): z.ZodType<HeaderOperations> {
  const checkName = (name: string): string | undefined => {
    if (name === '') return 'header name cannot be empty';
    const lower = name.toLowerCase();
    const authority = lower === ':authority' || lower === 'host';
    // Requests may rewrite the authority through header set/add; nothing else pseudo or Host.
    if (direction === 'request' && authority) return undefined;
    if (lower === 'host') return 'cannot set the Host header';
    if (name.startsWith(':')) return `invalid header "${name}": header cannot have ":" prefix`;
    return undefined;
  };
  const valueMap = z.record(z.string(), z.string()).superRefine((map, ctx) => {
    for (const [k, v] of Object.entries(map)) {
      const err =
        checkName(k) ?? (BAD_HEADER_VALUE.test(v) ? `header value for "${k}" contains control characters` : undefined);
      if (err !== undefined) custom(ctx, err, [k]);
    }
  });
  return z.strictObject({
    set: valueMap.optional(),
    add: valueMap.optional(),
    remove: z
      .array(z.string())
      .superRefine((names, ctx) => {
        names.forEach((n, i) => {
          const lower = n.toLowerCase();
          const err =
            n === ''
              ? 'header name cannot be empty'
              : lower === 'host' || n.startsWith(':')
                ? `cannot remove the "${n}" header`
                : undefined;
          if (err !== undefined) custom(ctx, err, [i]);
        });
      })
      .optional(),
  });
}

export const headersSchema: z.ZodType<Headers> = z.strictObject({
  request: headerOperations('request').optional(),
  response: headerOperations('response').optional(),
});

function gatewayNameError(name: string): string | undefined {
  if (name === 'mesh') return undefined;
  const slash = name.indexOf('/');
  if (slash < 0) {
    return wildcardDomainError(name) === undefined && !name.includes('*')
      ? undefined
      : `invalid gateway name "${name}"`;
  }
  const ns = name.slice(0, slash);
  const gw = name.slice(slash + 1);
  if (!isDns1123Label(ns)) return `invalid namespace "${ns}" in gateway "${name}"`;
  if (!isDns1123Label(gw)) return `invalid gateway name "${gw}" in "${name}"`;
  return undefined;
}

const gatewayNames = z.array(z.string()).superRefine((names, ctx) => {
  names.forEach((n, i) => {
    const err = gatewayNameError(n);
    if (err !== undefined) custom(ctx, err, [i]);
  });
});

export const httpMatchRequestSchema: z.ZodType<HTTPMatchRequest> = z.strictObject({
  name: z.string().optional(),
  uri: stringMatch.optional(),
  scheme: stringMatch.optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  headers: matchHeaders.optional(),
  port: port.optional(),
  sourceLabels: labels.optional(),
  gateways: gatewayNames.optional(),
  queryParams: stringMatchMap.optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: matchHeaders.optional(),
  sourceNamespace: dnsLabel.optional(),
  statPrefix: z.string().optional(),
});

const weight = z.number().int('weight must be an integer').min(0, 'weight must not be negative');

export const httpRouteDestinationSchema: z.ZodType<HTTPRouteDestination> = z.strictObject({
  destination: destinationSchema,
  weight: weight.optional(),
  headers: headersSchema.optional(),
});

export const routeDestinationSchema: z.ZodType<RouteDestination> = z.strictObject({
  destination: destinationSchema,
  weight: weight.optional(),
});

function checkTotalWeight(list: readonly { weight?: number | undefined }[], ctx: z.RefinementCtx): void {
  if (list.length > 1 && list.reduce((sum, d) => sum + (d.weight ?? 0), 0) === 0)
    custom(ctx, 'total destination weight = 0');
}

export const httpRetrySchema: z.ZodType<HTTPRetry> = z
  .strictObject({
    attempts: z.number().int().min(0, 'attempts cannot be negative').optional(),
    perTryTimeout: duration().optional(),
    retryOn: z
      .string()
      .superRefine((text, ctx) => {
        for (const policy of text.split(',')) {
          const p = policy.trim();
          const status = /^\d{3}$/.test(p) && Number(p) >= 100 && Number(p) <= 599;
          if (!status && !RETRY_ON.has(p)) custom(ctx, `"${p}" is not a valid retryOn policy`);
        }
      })
      .optional(),
    retryRemoteLocalities: z.boolean().optional(),
    retryIgnorePreviousHosts: z.boolean().optional(),
    backoff: duration().optional(),
  })
  .superRefine((r, ctx) => {
    if (
      (r.attempts ?? 0) === 0 &&
      (r.perTryTimeout !== undefined || r.retryOn !== undefined || r.retryRemoteLocalities !== undefined)
    ) {
      custom(ctx, 'http retry policy configured when attempts are set to 0 (disabled)', ['attempts']);
    }
  });

export const httpFaultInjectionSchema: z.ZodType<HTTPFaultInjection> = z
  .strictObject({
    delay: z
      .strictObject({
        fixedDelay: duration().optional(),
        exponentialDelay: duration().optional(),
        percentage: percent.optional(),
        percent: intPercent.optional(),
      })
      .superRefine((d, ctx) => {
        if (d.exponentialDelay !== undefined) custom(ctx, 'exponentialDelay is not supported', ['exponentialDelay']);
        if (d.fixedDelay === undefined && d.exponentialDelay === undefined) custom(ctx, 'Required', ['fixedDelay']);
      })
      .optional(),
    abort: z
      .strictObject({
        httpStatus: z
          .number()
          .int()
          .min(200, 'HTTP status must be in range 200-599')
          .max(599, 'HTTP status must be in range 200-599')
          .optional(),
        grpcStatus: z
          .string()
          .superRefine(
            valid((s) =>
              GRPC_STATUS.has(s)
                ? undefined
                : `gRPC status "${s}" is not supported; use a code name like "UNAVAILABLE"`,
            ),
          )
          .optional(),
        http2Error: z.string().optional(),
        percentage: percent.optional(),
      })
      .superRefine((a, ctx) => {
        if (a.http2Error !== undefined) custom(ctx, 'HTTP/2 abort fault injection is not supported', ['http2Error']);
        const set = [a.httpStatus, a.grpcStatus, a.http2Error].filter((x) => x !== undefined).length;
        if (set > 1) custom(ctx, 'only one of httpStatus, grpcStatus or http2Error may be set');
      })
      .optional(),
  })
  .superRefine((f, ctx) => {
    if (f.abort === undefined && f.delay === undefined)
      custom(ctx, 'HTTP fault injection must have an abort and/or a delay');
  });

const corsHeaderNames = z.array(z.string()).superRefine((names, ctx) => {
  names.forEach((n, i) => {
    if (n !== '*' && !HEADER_NAME.test(n)) custom(ctx, `"${n}" is not a valid header name`, [i]);
  });
});

export const corsPolicySchema: z.ZodType<CorsPolicy> = z.strictObject({
  allowOrigins: z
    .array(stringMatch)
    .superRefine((list, ctx) => {
      list.forEach((m, i) => {
        if ((m.exact ?? m.prefix ?? m.regex ?? '') === '')
          custom(ctx, 'an allowOrigins entry must set a non-empty exact, prefix or regex', [i]);
      });
    })
    .optional(),
  allowOrigin: z.array(z.string()).optional(),
  allowMethods: z
    .array(z.string())
    .superRefine((list, ctx) => {
      list.forEach((m, i) => {
        if (!HTTP_METHODS.has(m)) custom(ctx, `"${m}" is not a supported HTTP method`, [i]);
      });
    })
    .optional(),
  allowHeaders: corsHeaderNames.optional(),
  exposeHeaders: corsHeaderNames.optional(),
  maxAge: duration().optional(),
  allowCredentials: z.boolean().optional(),
  unmatchedPreflights: z.enum(['UNSPECIFIED', 'FORWARD', 'IGNORE']).optional(),
});

export const httpRouteSchema: z.ZodType<HTTPRoute> = z
  .strictObject({
    name: z.string().optional(),
    match: z.array(httpMatchRequestSchema).optional(),
    route: z.array(httpRouteDestinationSchema).superRefine(checkTotalWeight).optional(),
    redirect: z
      .strictObject({
        uri: z.string().optional(),
        authority: z.string().optional(),
        port: port.optional(),
        derivePort: z.enum(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']).optional(),
        scheme: z.enum(['http', 'https'], 'invalid redirect scheme, must be "http" or "https"').optional(),
        redirectCode: z
          .number()
          .int()
          .min(300, 'redirect code must be 3xx')
          .max(399, 'redirect code must be 3xx')
          .optional(),
      })
      .superRefine((r, ctx) => {
        if (
          r.uri === undefined &&
          r.authority === undefined &&
          r.port === undefined &&
          r.derivePort === undefined &&
          r.scheme === undefined
        ) {
          custom(ctx, 'redirect must specify URI, authority, scheme, or port');
        }
        if (r.port !== undefined && r.derivePort !== undefined)
          custom(ctx, 'only one of port or derivePort may be set');
      })
      .optional(),
    directResponse: z
      .strictObject({
        status: z
          .number()
          .int()
          .min(200, 'HTTP status must be in range 200-599')
          .max(599, 'HTTP status must be in range 200-599'),
        body: z
          .strictObject({ string: z.string().optional(), bytes: z.base64('bytes must be base64').optional() })
          .superRefine((b, ctx) => {
            if (b.string !== undefined && b.bytes !== undefined) custom(ctx, 'only one of string or bytes may be set');
            const size = (b.string ?? b.bytes ?? '').length;
            if (size > 1024 * 1024) custom(ctx, 'direct response bodies must be smaller than 1MB');
          })
          .optional(),
      })
      .optional(),
    delegate: z.strictObject({ name: z.string().min(1, 'Required'), namespace: dnsLabel.optional() }).optional(),
    rewrite: z
      .strictObject({
        uri: z.string().optional(),
        authority: z.string().optional(),
        uriRegexRewrite: z.strictObject({ match: re2Pattern, rewrite: z.string() }).optional(),
      })
      .superRefine((r, ctx) => {
        if (r.uri !== undefined && r.uri !== '' && r.uriRegexRewrite !== undefined)
          custom(ctx, 'rewrite may only contain one of uri or uriRegexRewrite');
        if ((r.uri ?? '') === '' && r.uriRegexRewrite === undefined && (r.authority ?? '') === '') {
          custom(ctx, 'rewrite must specify at least one of uri, uriRegexRewrite or authority');
        }
      })
      .optional(),
    // "0s" disables the route timeout, which Envoy and Istio's docs both describe.
    timeout: duration({ allowZero: true }).optional(),
    retries: httpRetrySchema.optional(),
    fault: httpFaultInjectionSchema.optional(),
    mirror: destinationSchema.optional(),
    mirrors: z.array(z.strictObject({ destination: destinationSchema, percentage: percent.optional() })).optional(),
    mirrorPercent: intPercent.optional(),
    mirrorPercentage: percent.optional(),
    corsPolicy: corsPolicySchema.optional(),
    headers: headersSchema.optional(),
  })
  .superRefine((r, ctx) => {
    const hasRoute = (r.route?.length ?? 0) > 0;
    if (r.delegate !== undefined) {
      if (hasRoute) custom(ctx, 'an HTTP route with delegate must not specify route', ['route']);
      if (r.redirect !== undefined) custom(ctx, 'an HTTP route with delegate must not specify redirect', ['redirect']);
      return;
    }
    if (r.redirect !== undefined) {
      if (hasRoute) custom(ctx, 'HTTP route cannot contain both route and redirect', ['redirect']);
      if (r.fault !== undefined) custom(ctx, 'HTTP route cannot contain both fault and redirect', ['redirect']);
      if (r.rewrite !== undefined) custom(ctx, 'HTTP route cannot contain both rewrite and redirect', ['redirect']);
      if (r.directResponse !== undefined)
        custom(ctx, 'HTTP route cannot contain both directResponse and redirect', ['redirect']);
    } else if (r.directResponse !== undefined) {
      if (hasRoute) custom(ctx, 'HTTP route cannot contain both route and directResponse', ['directResponse']);
    } else if (!hasRoute) {
      custom(ctx, 'HTTP route, redirect, directResponse or delegate is required', ['route']);
    }
    if (r.mirror !== undefined && r.mirrors !== undefined)
      custom(ctx, 'only one of mirror or mirrors may be set', ['mirrors']);
    // Only one place may rewrite the authority.
    const authoritySetters = [
      r.rewrite?.authority,
      ...Object.keys(r.headers?.request?.set ?? {}).filter((k) => /^(:authority|host)$/i.test(k)),
      ...Object.keys(r.headers?.request?.add ?? {}).filter((k) => /^(:authority|host)$/i.test(k)),
    ].filter((x) => x !== undefined && x !== '');
    if (authoritySetters.length > 1)
      custom(
        ctx,
        'the authority can be rewritten in one place only (rewrite.authority or one :authority/host header)',
        ['headers'],
      );
  });

const l4MatchFields = {
  destinationSubnets: z
    .array(z.string())
    .superRefine((list, ctx) => {
      list.forEach((s, i) => {
        const err = ipOrCidrError(s);
        if (err !== undefined) custom(ctx, err, [i]);
      });
    })
    .optional(),
  port: port.optional(),
  sourceSubnet: z.string().optional(),
  sourceLabels: labels.optional(),
  gateways: gatewayNames.optional(),
  sourceNamespace: dnsLabel.optional(),
};

const l4MatchSchema: z.ZodType<L4MatchAttributes> = z.strictObject(l4MatchFields);

const tlsMatchSchema = z.strictObject({
  ...l4MatchFields,
  sniHosts: z.array(z.string()).min(1, 'a TLS match must have at least one SNI host'),
});

export const virtualServiceSpecSchema: z.ZodType<VirtualServiceSpec> = z
  .strictObject({
    hosts: z.array(z.string()).optional(),
    gateways: gatewayNames.optional(),
    http: z.array(httpRouteSchema).optional(),
    tls: z
      .array(
        z.strictObject({
          match: z.array(tlsMatchSchema).min(1, 'a TLS route must have at least one match condition'),
          route: z.array(routeDestinationSchema).min(1, 'Required').superRefine(checkTotalWeight),
        }),
      )
      .optional(),
    tcp: z
      .array(
        z.strictObject({
          match: z.array(l4MatchSchema).optional(),
          route: z.array(routeDestinationSchema).min(1, 'Required').superRefine(checkTotalWeight),
        }),
      )
      .optional(),
    exportTo: exportTo({ allowNone: false }).optional(),
  })
  .superRefine((vs, ctx) => {
    const hosts = vs.hosts ?? [];
    const gateways = vs.gateways ?? [];
    if (hosts.length === 0) {
      // A VirtualService without hosts is a delegate, only reachable from another one's `delegate`.
      if (gateways.length > 0)
        custom(ctx, 'delegate virtual service (no hosts) must have no gateways specified', ['gateways']);
      if ((vs.tls?.length ?? 0) > 0)
        custom(ctx, 'delegate virtual service (no hosts) must have no tls route specified', ['tls']);
      if ((vs.tcp?.length ?? 0) > 0)
        custom(ctx, 'delegate virtual service (no hosts) must have no tcp route specified', ['tcp']);
      // delegation is one level deep
      (vs.http ?? []).forEach((r, i) => {
        if (r.delegate !== undefined)
          custom(ctx, 'delegate HTTP route cannot contain delegate', ['http', i, 'delegate']);
      });
    }
    const appliesToMesh = gateways.length === 0 || gateways.includes('mesh');
    hosts.forEach((h, i) => {
      const err = wildcardDomainError(h);
      if (err !== undefined && !isIpAddress(h)) custom(ctx, err, ['hosts', i]);
      else if (h === '*' && appliesToMesh)
        custom(ctx, 'wildcard host * is not allowed for virtual services bound to the mesh gateway', ['hosts', i]);
      if (hosts.indexOf(h) !== i) custom(ctx, `duplicate host "${h}"`, ['hosts', i]);
    });
    if ((vs.http?.length ?? 0) === 0 && (vs.tcp?.length ?? 0) === 0 && (vs.tls?.length ?? 0) === 0) {
      custom(ctx, 'http, tcp or tls must be provided in virtual service');
    }
  });

// ------------------------------------------------------------------------------------------------
// DestinationRule
// ------------------------------------------------------------------------------------------------

function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

export const localityLbSettingSchema: z.ZodType<LocalityLoadBalancerSetting> = z
  .strictObject({
    distribute: z
      .array(
        z.strictObject({
          from: z.string().optional(),
          to: z.record(z.string(), z.number().int().min(0).max(100)).optional(),
        }),
      )
      .optional(),
    failover: z.array(z.strictObject({ from: z.string().optional(), to: z.string().optional() })).optional(),
    failoverPriority: z.array(z.string()).optional(),
    enabled: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.distribute?.length ?? 0) > 0 && (s.failover?.length ?? 0) > 0)
      custom(ctx, 'can not simultaneously specify distribute and failover');
    s.distribute?.forEach((d, i) => {
      const total = Object.values(d.to ?? {}).reduce((a, b) => a + b, 0);
      if (total !== 100) custom(ctx, `total weight ${total} != 100`, ['distribute', i, 'to']);
    });
  });

export const loadBalancerSchema: z.ZodType<LoadBalancerSettings> = z
  .strictObject({
    simple: z.enum(['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST']).optional(),
    consistentHash: z
      .strictObject({
        httpHeaderName: z.string().min(1).optional(),
        httpCookie: z
          .strictObject({
            name: z.string().min(1, 'name required for httpCookie'),
            path: z.string().optional(),
            ttl: duration({ allowZero: true }).optional(),
          })
          .optional(),
        useSourceIp: z.boolean().optional(),
        httpQueryParameterName: z.string().min(1).optional(),
        ringHash: z.strictObject({ minimumRingSize: nonNegativeInt.optional() }).optional(),
        maglev: z
          .strictObject({
            tableSize: z
              .number()
              .int()
              .min(1, 'tableSize must be set for maglev')
              .max(5000010, 'tableSize must be less than 5000011 for maglev')
              .refine(isPrime, 'tableSize must be a prime number for maglev')
              .optional(),
          })
          .superRefine((m, ctx) => {
            if (m.tableSize === undefined) custom(ctx, 'tableSize must be set for maglev', ['tableSize']);
          })
          .optional(),
        minimumRingSize: nonNegativeInt.optional(),
      })
      .superRefine((h, ctx) => {
        const keys = (['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] as const).filter(
          (k) => h[k] !== undefined,
        );
        if (keys.length > 1) custom(ctx, `only one hash key may be set (found ${keys.join(', ')})`);
        if (h.ringHash !== undefined && h.maglev !== undefined)
          custom(ctx, 'only one of ringHash or maglev may be set');
        if ((h.minimumRingSize ?? 0) !== 0 && (h.ringHash !== undefined || h.maglev !== undefined)) {
          custom(ctx, 'only one of minimumRingSize or maglev/ringHash can be specified', ['minimumRingSize']);
        }
      })
      .optional(),
    localityLbSetting: localityLbSettingSchema.optional(),
    warmupDurationSecs: duration().optional(),
    warmup: z
      .strictObject({
        duration: duration(),
        minimumPercent: z.number().min(0).max(100).optional(),
        aggression: z.number().min(1, 'aggression must be at least 1').optional(),
      })
      .optional(),
  })
  .superRefine((lb, ctx) => {
    if (lb.simple !== undefined && lb.consistentHash !== undefined)
      custom(ctx, 'only one of simple or consistentHash may be set');
  });

export const connectionPoolSchema: z.ZodType<ConnectionPoolSettings> = z
  .strictObject({
    tcp: z
      .strictObject({
        maxConnections: nonNegativeInt.optional(),
        connectTimeout: duration().optional(),
        tcpKeepalive: z
          .strictObject({
            probes: nonNegativeInt.optional(),
            time: duration().optional(),
            interval: duration().optional(),
          })
          .optional(),
        maxConnectionDuration: duration().optional(),
        idleTimeout: duration().optional(),
      })
      .optional(),
    http: z
      .strictObject({
        http1MaxPendingRequests: nonNegativeInt.optional(),
        http2MaxRequests: nonNegativeInt.optional(),
        maxRequestsPerConnection: nonNegativeInt.optional(),
        maxRetries: nonNegativeInt.optional(),
        idleTimeout: duration().optional(),
        h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']).optional(),
        useClientProtocol: z.boolean().optional(),
        maxConcurrentStreams: nonNegativeInt.optional(),
      })
      .superRefine((h, ctx) => {
        if (h.h2UpgradePolicy === 'UPGRADE' && h.useClientProtocol === true) {
          custom(ctx, 'useClientProtocol must not be true when h2UpgradePolicy is UPGRADE', ['useClientProtocol']);
        }
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (p.tcp === undefined && p.http === undefined) custom(ctx, 'connection pool must have at least one field');
  });

const percentInt = z
  .number()
  .int()
  .min(0, 'percentage must be between 0 and 100')
  .max(100, 'percentage must be between 0 and 100');

export const outlierDetectionSchema: z.ZodType<OutlierDetection> = z
  .strictObject({
    splitExternalLocalOriginErrors: z.boolean().optional(),
    consecutiveLocalOriginFailures: nonNegativeInt.optional(),
    consecutiveGatewayErrors: nonNegativeInt.optional(),
    consecutive5xxErrors: nonNegativeInt.optional(),
    consecutiveErrors: nonNegativeInt.optional(),
    interval: duration().optional(),
    baseEjectionTime: duration().optional(),
    maxEjectionPercent: percentInt.optional(),
    minHealthPercent: percentInt.optional(),
  })
  .superRefine((o, ctx) => {
    if (o.splitExternalLocalOriginErrors !== true && (o.consecutiveLocalOriginFailures ?? 0) > 0) {
      custom(ctx, 'consecutiveLocalOriginFailures is set, but splitExternalLocalOriginErrors is false', [
        'consecutiveLocalOriginFailures',
      ]);
    }
  });

export const clientTlsSchema: z.ZodType<ClientTLSSettings> = z
  .strictObject({
    mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']).optional(),
    clientCertificate: z.string().optional(),
    privateKey: z.string().optional(),
    caCertificates: z.string().optional(),
    credentialName: z.string().optional(),
    subjectAltNames: z.array(z.string()).optional(),
    sni: z.string().optional(),
    insecureSkipVerify: z.boolean().optional(),
    caCrl: z.string().optional(),
  })
  .superRefine((t, ctx) => {
    const has = (x: string | undefined) => x !== undefined && x !== '';
    const certs = [t.clientCertificate, t.privateKey, t.caCertificates, t.credentialName].some(has);
    if (t.mode === 'ISTIO_MUTUAL' && certs) {
      custom(ctx, 'cannot specify client certificates, CA certificates or credentialName for ISTIO_MUTUAL');
    }
    // istiod's ValidateTLS (pkg/config/validation/agent), rule for rule and message for message
    const sans = (t.subjectAltNames?.length ?? 0) > 0;
    if (t.insecureSkipVerify === true) {
      // SIMPLE takes its CA from caCertificates or credentialName: neither goes with skipping verification
      if (t.mode === 'SIMPLE' && (has(t.caCertificates) || has(t.credentialName) || sans)) {
        custom(
          ctx,
          'cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true',
          ['insecureSkipVerify'],
        );
      }
      // MUTUAL's credentialName also carries the client certificate: only caCertificates conflicts
      if (t.mode === 'MUTUAL' && (has(t.caCertificates) || sans)) {
        custom(ctx, 'cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true', [
          'insecureSkipVerify',
        ]);
      }
    }
    if ((t.mode === 'SIMPLE' || t.mode === 'MUTUAL') && has(t.credentialName)) {
      if (has(t.clientCertificate) || has(t.caCertificates) || has(t.privateKey) || has(t.caCrl)) {
        custom(ctx, 'cannot specify client certificates or CA certificate or CA CRL If credentialName is set', [
          'credentialName',
        ]);
      }
      // the credentials come from the secret: no files are required
      return;
    }
    if (t.mode === 'MUTUAL') {
      if (!has(t.clientCertificate)) custom(ctx, 'client certificate required for mutual tls', ['clientCertificate']);
      if (!has(t.privateKey)) custom(ctx, 'private key required for mutual tls', ['privateKey']);
    }
  });

const policyFields = {
  loadBalancer: loadBalancerSchema.optional(),
  connectionPool: connectionPoolSchema.optional(),
  outlierDetection: outlierDetectionSchema.optional(),
  tls: clientTlsSchema.optional(),
};

export const trafficPolicySchema: z.ZodType<TrafficPolicy> = z
  .strictObject({
    ...policyFields,
    portLevelSettings: z
      .array(
        z.strictObject({ port: z.strictObject({ number: port }), ...policyFields }).superRefine((p, ctx) => {
          if (
            p.loadBalancer === undefined &&
            p.connectionPool === undefined &&
            p.outlierDetection === undefined &&
            p.tls === undefined
          ) {
            custom(ctx, 'port traffic policy must have at least one field');
          }
        }),
      )
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (Object.values(p).every((v) => v === undefined)) custom(ctx, 'traffic policy must have at least one field');
  });

export const destinationRuleSpecSchema: z.ZodType<DestinationRuleSpec> = z
  .strictObject({
    host,
    trafficPolicy: trafficPolicySchema.optional(),
    subsets: z
      .array(
        z.strictObject({ name: dnsLabel, labels: labels.optional(), trafficPolicy: trafficPolicySchema.optional() }),
      )
      .superRefine((subsets, ctx) => {
        const seen = new Set<string>();
        subsets.forEach((s, i) => {
          if (seen.has(s.name)) custom(ctx, `duplicate subset name "${s.name}"`, [i, 'name']);
          seen.add(s.name);
        });
      })
      .optional(),
    exportTo: exportTo({ allowNone: false }).optional(),
    workloadSelector: z.strictObject({ matchLabels: selectorLabels.optional() }).optional(),
  })
  .superRefine((dr, ctx) => {
    if (
      dr.workloadSelector !== undefined &&
      dr.exportTo !== undefined &&
      (dr.exportTo.length > 1 || (dr.exportTo[0] !== '.' && dr.exportTo[0] !== undefined))
    ) {
      custom(ctx, 'a destination rule with a workload selector cannot be exported beyond its namespace', ['exportTo']);
    }
  });

// ------------------------------------------------------------------------------------------------
// Gateway
// ------------------------------------------------------------------------------------------------

/** `[namespace/]host` as Gateway servers and Sidecar egress use it. */
export function namespacedHostError(value: string, options: { sidecar: boolean }): string | undefined {
  const slash = value.indexOf('/');
  if (slash < 0) {
    if (options.sidecar) return `"${value}" must be of the form namespace/dnsName`;
    return wildcardDomainError(value);
  }
  const ns = value.slice(0, slash);
  const name = value.slice(slash + 1);
  const nsOk = ns === '*' || ns === '.' || (options.sidecar && ns === '~') || isDns1123Label(ns);
  if (!nsOk) return `invalid namespace "${ns}" in "${value}"`;
  return wildcardDomainError(name);
}

const serverTlsSchema: z.ZodType<ServerTLSSettings> = z
  .strictObject({
    httpsRedirect: z.boolean().optional(),
    mode: z.enum(['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL']).optional(),
    serverCertificate: z.string().optional(),
    privateKey: z.string().optional(),
    caCertificates: z.string().optional(),
    credentialName: z.string().optional(),
    subjectAltNames: z.array(z.string()).optional(),
    minProtocolVersion: z.enum(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']).optional(),
    maxProtocolVersion: z.enum(['TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3']).optional(),
    cipherSuites: z.array(z.string()).optional(),
  })
  .superRefine((t, ctx) => {
    const has = (v: string | undefined) => v !== undefined && v !== '';
    if (t.mode === 'ISTIO_MUTUAL') {
      for (const f of ['serverCertificate', 'privateKey', 'caCertificates', 'credentialName'] as const) {
        if (has(t[f])) custom(ctx, `ISTIO_MUTUAL TLS cannot have an associated ${f}`, [f]);
      }
      return;
    }
    if ((t.mode === 'SIMPLE' || t.mode === 'MUTUAL' || t.mode === 'OPTIONAL_MUTUAL') && !has(t.credentialName)) {
      if (!has(t.serverCertificate)) custom(ctx, `${t.mode} TLS requires a server certificate`, ['serverCertificate']);
      if (!has(t.privateKey)) custom(ctx, `${t.mode} TLS requires a private key`, ['privateKey']);
      if (t.mode !== 'SIMPLE' && !has(t.caCertificates))
        custom(ctx, `${t.mode} TLS requires a client CA bundle`, ['caCertificates']);
    }
  });

const TLS_PROTOCOLS = new Set(['https', 'tls']);
const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc', 'grpc-web', 'http_proxy']);

const serverSchema: z.ZodType<Server> = z
  .strictObject({
    port: z
      .strictObject({
        number: port,
        protocol,
        name: z.string().min(1, 'port name must be set'),
        targetPort: z.number().int().optional(),
      })
      .superRefine((p, ctx) => {
        if (p.targetPort !== undefined) custom(ctx, 'targetPort has no impact on Gateways', ['targetPort']);
      }),
    bind: z.string().optional(),
    hosts: z
      .array(z.string())
      .min(1, 'server config must contain at least one host')
      .superRefine((hosts, ctx) => {
        hosts.forEach((h, i) => {
          const err = namespacedHostError(h, { sidecar: false });
          if (err !== undefined) custom(ctx, err, [i]);
        });
      }),
    tls: serverTlsSchema.optional(),
    defaultEndpoint: z.string().optional(),
    name: z.string().optional(),
  })
  .superRefine((s, ctx) => {
    const p = s.port.protocol.toLowerCase();
    if (TLS_PROTOCOLS.has(p) && s.tls === undefined)
      custom(ctx, 'server must have TLS settings for HTTPS/TLS protocols', ['tls']);
    if (!TLS_PROTOCOLS.has(p) && s.tls !== undefined) {
      const redirectOnly =
        HTTP_PROTOCOLS.has(p) &&
        s.tls.serverCertificate === undefined &&
        s.tls.privateKey === undefined &&
        s.tls.caCertificates === undefined;
      if (!redirectOnly) custom(ctx, 'server cannot have TLS settings for plain text ports', ['tls']);
    }
    if (s.bind !== undefined && s.bind !== '' && !s.bind.startsWith('unix://') && !isIpAddress(s.bind))
      custom(ctx, `bind "${s.bind}" is not an IP address`, ['bind']);
  });

export const gatewaySpecSchema: z.ZodType<GatewaySpec> = z
  .strictObject({
    servers: z.array(serverSchema).min(1, 'gateway must have at least one server'),
    selector: labels.optional(),
  })
  .superRefine((g, ctx) => {
    const names = new Map<string, number>();
    (g.servers ?? []).forEach((s, i) => {
      const name = s.port.name ?? '';
      if (names.has(name))
        custom(ctx, `port names in servers must be unique: duplicate name ${name}`, ['servers', i, 'port', 'name']);
      names.set(name, i);
    });
  });

// ------------------------------------------------------------------------------------------------
// ServiceEntry, WorkloadEntry
// ------------------------------------------------------------------------------------------------

function addressError(address: string): string | undefined {
  if (address.startsWith('unix://')) {
    const path = address.slice('unix://'.length);
    return path.startsWith('@') || (path.startsWith('/') && !path.endsWith('/'))
      ? undefined
      : `${path} is not an absolute path to a file`;
  }
  if (isIpAddress(address)) return undefined;
  const err = wildcardDomainError(address);
  return err !== undefined || address.includes('*')
    ? `endpoint address "${address}" is not a valid FQDN or an IP address`
    : undefined;
}

const workloadEntryFields = {
  address: z.string().optional(),
  ports: z
    .record(z.string(), port)
    .superRefine((ports, ctx) => {
      for (const name of Object.keys(ports))
        if (!isDns1123Label(name)) custom(ctx, `invalid port name "${name}"`, [name]);
    })
    .optional(),
  labels: labels.optional(),
  network: z.string().optional(),
  locality: z
    .string()
    .refine((l) => l.split('/').length <= 3, 'locality must be region/zone/subzone')
    .optional(),
  weight: z.number().int().min(0, 'weight must not be negative').max(4294967295).optional(),
  serviceAccount: z.string().optional(),
};

export const workloadEntrySpecSchema: z.ZodType<WorkloadEntrySpec> = z
  .strictObject(workloadEntryFields)
  .superRefine((we, ctx) => {
    if ((we.address ?? '') === '') {
      if ((we.network ?? '') === '') custom(ctx, 'address is required', ['address']);
      return;
    }
    const err = addressError(we.address as string);
    if (err !== undefined) custom(ctx, err, ['address']);
    if ((we.address as string).startsWith('unix://') && Object.keys(we.ports ?? {}).length > 0)
      custom(ctx, 'a unix endpoint must not include ports', ['ports']);
  });

const servicePortSchema = z.strictObject({
  number: port,
  protocol: protocol.optional(),
  name: dnsLabel,
  targetPort: port.optional(),
});

export const serviceEntrySpecSchema: z.ZodType<ServiceEntrySpec> = z
  .strictObject({
    hosts: z.array(z.string()).min(1, 'service entry must have at least one host'),
    addresses: z
      .array(z.string())
      .superRefine((list, ctx) => {
        list.forEach((a, i) => {
          const err = ipOrCidrError(a);
          if (err !== undefined) custom(ctx, err, [i]);
        });
      })
      .optional(),
    ports: z.array(servicePortSchema).optional(),
    location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).optional(),
    resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN']).optional(),
    endpoints: z.array(z.strictObject(workloadEntryFields)).optional(),
    workloadSelector: z.strictObject({ labels: selectorLabels.optional() }).optional(),
    exportTo: exportTo({ allowNone: true }).optional(),
    subjectAltNames: z.array(z.string()).optional(),
  })
  .superRefine((se, ctx) => {
    se.hosts.forEach((h, i) => {
      if (h === '*') custom(ctx, 'invalid host *', ['hosts', i]);
      else {
        const err = wildcardDomainError(h);
        if (err !== undefined) custom(ctx, err, ['hosts', i]);
      }
    });
    if (se.workloadSelector !== undefined && se.endpoints !== undefined)
      custom(ctx, 'only one of workloadSelector or endpoints is allowed', ['workloadSelector']);
    const names = new Set<string>();
    const numbers = new Set<number>();
    (se.ports ?? []).forEach((p, i) => {
      if (names.has(p.name)) custom(ctx, `port name "${p.name}" already defined`, ['ports', i, 'name']);
      if (numbers.has(p.number)) custom(ctx, `port ${p.number} already defined`, ['ports', i, 'number']);
      names.add(p.name);
      numbers.add(p.number);
    });
    const cidr = (se.addresses ?? []).some((a) => a.includes('/'));
    const resolution = se.resolution ?? 'NONE';
    if (cidr && resolution !== 'NONE' && resolution !== 'STATIC')
      custom(ctx, 'CIDR addresses are allowed only for NONE/STATIC resolution', ['addresses']);
    const endpoints = se.endpoints ?? [];
    if (resolution === 'NONE' && endpoints.length > 0)
      custom(ctx, 'no endpoints should be provided for resolution type NONE', ['endpoints']);
    if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1)
      custom(ctx, 'there must only be 0 or 1 endpoint for resolution DNS_ROUND_ROBIN', ['endpoints']);
    if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
      se.hosts.forEach((h, i) => {
        if (h.includes('*'))
          custom(ctx, `hosts must be FQDN if no endpoints are provided for resolution ${resolution}`, ['hosts', i]);
      });
    }
    endpoints.forEach((ep, i) => {
      const address = ep.address ?? '';
      if (address === '') {
        if ((ep.network ?? '') === '') custom(ctx, 'address is required', ['endpoints', i, 'address']);
      } else {
        const err =
          resolution === 'STATIC' && !address.startsWith('unix://') && !isIpAddress(address)
            ? `endpoint address "${address}" is not a valid IP address`
            : addressError(address);
        if (err !== undefined) custom(ctx, err, ['endpoints', i, 'address']);
      }
      for (const name of Object.keys(ep.ports ?? {})) {
        if (!names.has(name))
          custom(ctx, `endpoint port "${name}" is not defined by the service entry`, ['endpoints', i, 'ports', name]);
      }
    });
    if (resolution !== 'NONE' && se.hosts.length > 1) {
      const bad = (se.ports ?? []).some((p) => {
        const proto = (p.protocol ?? '').toLowerCase();
        return !HTTP_PROTOCOLS.has(proto) && !TLS_PROTOCOLS.has(proto);
      });
      if (bad) custom(ctx, 'multiple hosts provided with non-HTTP, non-TLS ports', ['hosts']);
    }
  });

// ------------------------------------------------------------------------------------------------
// Sidecar
// ------------------------------------------------------------------------------------------------

const sidecarPort = z
  .strictObject({
    number: z.number().int().min(0).max(65535),
    protocol: protocol.optional(),
    name: dnsLabel.optional(),
    targetPort: z.number().int().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.targetPort !== undefined) custom(ctx, 'targetPort has no impact on Sidecars', ['targetPort']);
  });

const captureMode = z.enum(['DEFAULT', 'IPTABLES', 'NONE']);

export const sidecarSpecSchema: z.ZodType<SidecarSpec> = z
  .strictObject({
    workloadSelector: z.strictObject({ labels: selectorLabels.optional() }).optional(),
    ingress: z
      .array(
        z
          .strictObject({
            port: sidecarPort,
            bind: z.string().optional(),
            captureMode: captureMode.optional(),
            defaultEndpoint: z.string().optional(),
          })
          .superRefine((l, ctx) => {
            const de = l.defaultEndpoint;
            if (de === undefined || de === '' || de.startsWith('unix://')) return;
            const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(de);
            const h = m?.[1] ?? m?.[2] ?? '';
            const p = Number(m?.[3] ?? 0);
            if (m === null || !['', '127.0.0.1', '0.0.0.0', '::1', '::'].includes(h) || p < 1 || p > 65535) {
              custom(
                ctx,
                'defaultEndpoint must be of form 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port>, unix://<path> or unset',
                ['defaultEndpoint'],
              );
            }
          }),
      )
      .superRefine((list, ctx) => {
        const ports = new Set<number>();
        list.forEach((l, i) => {
          if (ports.has(l.port.number))
            custom(ctx, 'ports on IP bound listeners must be unique', [i, 'port', 'number']);
          ports.add(l.port.number);
        });
      })
      .optional(),
    egress: z
      .array(
        z.strictObject({
          port: sidecarPort.optional(),
          bind: z.string().optional(),
          captureMode: captureMode.optional(),
          hosts: z
            .array(z.string())
            .min(1, 'egress listener must contain at least one host')
            .superRefine((hosts, ctx) => {
              hosts.forEach((h, i) => {
                const err = namespacedHostError(h, { sidecar: true });
                if (err !== undefined) custom(ctx, err, [i]);
              });
            }),
        }),
      )
      .superRefine((list, ctx) => {
        const ports = new Set<number>();
        list.forEach((l, i) => {
          if (l.port === undefined) {
            if (i !== list.length - 1)
              custom(ctx, 'the egress listener with empty port should be the last listener in the list', [i]);
          } else if (l.port.number !== 0) {
            if (ports.has(l.port.number))
              custom(ctx, 'ports on IP bound listeners must be unique', [i, 'port', 'number']);
            ports.add(l.port.number);
          }
        });
      })
      .optional(),
    outboundTrafficPolicy: z.strictObject({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']).optional() }).optional(),
  })
  .superRefine((s, ctx) => {
    if ((s.egress?.length ?? 0) === 0 && (s.ingress?.length ?? 0) === 0 && s.outboundTrafficPolicy === undefined) {
      custom(ctx, 'sidecar: empty configuration provided');
    }
  });
