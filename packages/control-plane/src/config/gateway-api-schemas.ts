// gateway.networking.k8s.io HTTPRoute (v1, v1beta1) and GRPCRoute (v1) as zod schemas. The rules are the ones the
// Kubernetes API server applies from the Gateway API CRDs (OpenAPI patterns, enums, limits and the
// CEL rules), so a file Inboard accepts is one `kubectl apply` accepts; plus the few inputs istiod
// accepts but then refuses to translate (pilot/pkg/config/kube/gateway conversion.go: a backend
// name with a dot, filter types it does not implement), reported here instead of dropping the route.
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import type {
  BackendObjectReference,
  GRPCBackendRef,
  GRPCMethodMatch,
  GRPCRouteFilter,
  GRPCRouteMatch,
  GRPCRouteRule,
  GRPCRouteSpec,
  HTTPBackendRef,
  HTTPCORSFilter,
  HTTPHeaderFilter,
  HTTPHeaderMatch,
  HTTPPathMatch,
  HTTPPathModifier,
  HTTPRouteFilter,
  HTTPRouteMatch,
  HTTPRouteRule,
  HTTPRouteSpec,
  HTTPRouteTimeouts,
  KubernetesGatewaySpec,
  ParentReference,
} from './istio-types.ts';
import { isDns1123Label, port, re2Pattern } from './schema-primitives.ts';

function custom(ctx: z.RefinementCtx, message: string, path?: PropertyKey[]): void {
  ctx.addIssue(path === undefined ? { code: 'custom', message } : { code: 'custom', message, path });
}

function pattern(re: RegExp, what: string, max: number) {
  return z
    .string()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`)
    .regex(re, `invalid ${what}`);
}

const GROUP = /^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const SECTION_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PRECISE_HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
// Gateway API durations: up to four number+unit pairs, units h, m, s, ms (GEP-2257).
const GATEWAY_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

const group = z.string().max(253, 'group must be at most 253 characters').regex(GROUP, 'invalid group');
const kind = pattern(KIND, 'kind', 63);
const objectName = z.string().min(1, 'name must not be empty').max(253, 'name must be at most 253 characters');
const namespace = z.string().refine((s) => isDns1123Label(s), { message: 'invalid namespace (a DNS-1123 label)' });
const sectionName = pattern(SECTION_NAME, 'section name', 253);
const headerName = pattern(HEADER_NAME, 'header name', 256);

export const gatewayDuration = z.string().superRefine((text, ctx) => {
  if (!GATEWAY_DURATION.test(text))
    custom(ctx, `invalid duration "${text}": expected Gateway API form like "10s", "500ms" or "1h30m"`);
});

const parentRefSchema: z.ZodType<ParentReference> = z.strictObject({
  group: group.optional(),
  kind: kind.optional(),
  namespace: namespace.optional(),
  name: objectName,
  sectionName: sectionName.optional(),
  port: port.optional(),
});

const PARENT_GROUP = 'gateway.networking.k8s.io';

/** The API server's defaults (group gateway.networking.k8s.io, kind Gateway); an unset namespace is "". */
function sameParent(a: ParentReference, b: ParentReference): boolean {
  return (
    (a.group ?? PARENT_GROUP) === (b.group ?? PARENT_GROUP) &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    a.name === b.name &&
    (a.namespace ?? '') === (b.namespace ?? '')
  );
}

/**
 * CommonRouteSpec.parentRefs' CEL rules: refs to one parent must all set sectionName or none, and no
 * two may name the same section. The experimental channel's rules count `port` beside sectionName
 * (refs to one Service on two ports are distinct there, a duplicate in the standard channel): as
 * Inboard reads the experimental fields, a list that sets a port anywhere gets those rules and their
 * messages; without ports the two channels' rules are the same. The later ref is the one reported.
 */
function checkParentRefs(refs: readonly ParentReference[] | undefined, ctx: z.RefinementCtx): void {
  if (refs === undefined) return;
  const withPort = refs.some((r) => r.port !== undefined);
  const what = withPort ? 'sectionName or port' : 'sectionName';
  const section = (r: ParentReference) => r.sectionName ?? '';
  const port = (r: ParentReference) => (withPort ? (r.port ?? 0) : 0);
  refs.forEach((b, j) => {
    const earlier = refs.slice(0, j).filter((a) => sameParent(a, b));
    const suffix = 'when parentRefs includes 2 or more references to the same parent';
    if (earlier.some((a) => (section(a) === '') !== (section(b) === '') || (port(a) === 0) !== (port(b) === 0)))
      custom(ctx, `${what} must be specified ${suffix}`, ['parentRefs', j]);
    else if (earlier.some((a) => section(a) === section(b) && port(a) === port(b)))
      custom(ctx, `${what} must be unique ${suffix}`, ['parentRefs', j]);
  });
}

function pathValueError(type: string, v: string): string | undefined {
  if (type === 'RegularExpression') return undefined;
  if (!v.startsWith('/'))
    return 'value must be an absolute path and start with \'/\' when type one of ["Exact", "PathPrefix"]';
  for (const bad of ['//', '/./', '/../', '%2f', '%2F', '#'])
    if (v.includes(bad)) return `value must not contain '${bad}' when type one of ["Exact", "PathPrefix"]`;
  if (v.endsWith('/..') || v.endsWith('/.'))
    return `value must not end with '${v.endsWith('/..') ? '/..' : '/.'}' when type one of ["Exact", "PathPrefix"]`;
  if (!PATH_CHARS.test(v)) return 'value must only contain valid characters (matching RFC 3986 path characters)';
  return undefined;
}

const pathMatchSchema: z.ZodType<HTTPPathMatch> = z
  .strictObject({
    type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).optional(),
    value: z.string().max(1024, 'value must be at most 1024 characters').optional(),
  })
  .superRefine((m, ctx) => {
    const type = m.type ?? 'PathPrefix';
    const value = m.value ?? '/';
    const err = pathValueError(type, value);
    if (err !== undefined) custom(ctx, err, ['value']);
    // istiod turns the regex into an Envoy safe_regex (RE2): check it here rather than get a NACK
    if (type === 'RegularExpression') {
      const r = re2Pattern.safeParse(value);
      if (!r.success) custom(ctx, r.error.issues[0]?.message ?? 'invalid regex', ['value']);
    }
  });

function valueMatch(what: 'header' | 'query parameter') {
  return z
    .strictObject({
      type: z.enum(['Exact', 'RegularExpression']).optional(),
      name: what === 'header' ? headerName : pattern(HEADER_NAME, 'query parameter name', 256),
      value: z
        .string()
        .min(what === 'header' ? 0 : 1, 'value must not be empty')
        .max(what === 'header' ? 4096 : 1024, 'value is too long'),
    })
    .superRefine((m, ctx) => {
      if (m.type !== 'RegularExpression') return;
      const r = re2Pattern.safeParse(m.value);
      if (!r.success) custom(ctx, r.error.issues[0]?.message ?? 'invalid regex', ['value']);
    });
}

/** A list keyed by `name` (listType=map): the API server rejects a name given twice. */
function uniqueNames<T extends { name: string }>(item: z.ZodType<T>, max: number, what: string) {
  return z
    .array(item)
    .max(max, `at most ${max} ${what} may be given`)
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((e, i) => {
        if (seen.has(e.name)) custom(ctx, `duplicate ${what} name "${e.name}"`, [i, 'name']);
        seen.add(e.name);
      });
    });
}

const routeMatchSchema: z.ZodType<HTTPRouteMatch> = z.strictObject({
  path: pathMatchSchema.optional(),
  headers: uniqueNames<HTTPHeaderMatch>(valueMatch('header'), 16, 'header').optional(),
  queryParams: uniqueNames<HTTPHeaderMatch>(valueMatch('query parameter'), 16, 'query parameter').optional(),
  method: z.enum(METHODS, `method must be one of ${METHODS.join(', ')}`).optional(),
});

const httpHeader = z.strictObject({
  name: headerName,
  value: z.string().min(1, 'value must not be empty').max(4096, 'value must be at most 4096 characters'),
});

const headerFilterSchema: z.ZodType<HTTPHeaderFilter> = z.strictObject({
  set: uniqueNames(httpHeader, 16, 'header').optional(),
  add: uniqueNames(httpHeader, 16, 'header').optional(),
  remove: z
    .array(headerName)
    .max(16, 'at most 16 headers may be removed')
    .superRefine((list, ctx) => {
      if (new Set(list).size !== list.length) custom(ctx, 'duplicate header in remove');
    })
    .optional(),
});

const pathModifierSchema: z.ZodType<HTTPPathModifier> = z
  .strictObject({
    type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']),
    replaceFullPath: z.string().max(1024).optional(),
    replacePrefixMatch: z.string().max(1024).optional(),
  })
  .superRefine((m, ctx) => {
    const pairs = [
      ['ReplaceFullPath', 'replaceFullPath'],
      ['ReplacePrefixMatch', 'replacePrefixMatch'],
    ] as const;
    for (const [type, field] of pairs) {
      if (m.type === type && m[field] === undefined)
        custom(ctx, `${field} must be specified when type is set to '${type}'`, [field]);
      if (m.type !== type && m[field] !== undefined)
        custom(ctx, `type must be '${type}' when ${field} is set`, [field]);
    }
  });

const backendObjectReference = {
  group: group.optional(),
  kind: kind.optional(),
  name: objectName,
  namespace: namespace.optional(),
  port: port.optional(),
};

function isCoreService(r: BackendObjectReference): boolean {
  return (r.group ?? '') === '' && (r.kind ?? 'Service') === 'Service';
}

/** The CRD's "Must have port for Service reference", and istiod's refusals (conversion.go buildDestination). */
function checkBackend(r: BackendObjectReference, ctx: z.RefinementCtx): void {
  if (isCoreService(r)) {
    if (r.port === undefined) custom(ctx, 'Must have port for Service reference', ['port']);
    if (r.name.includes('.'))
      custom(ctx, 'service name invalid; the name of the Service must be used, not the hostname', ['name']);
  } else if (r.group === 'networking.istio.io' && r.kind === 'Hostname') {
    if (r.namespace !== undefined) custom(ctx, 'namespace may not be set with Hostname type', ['namespace']);
    if (r.port === undefined) custom(ctx, 'port is required in backendRef', ['port']);
  }
}

const mirrorSchema = z
  .strictObject({
    backendRef: z.strictObject(backendObjectReference).superRefine(checkBackend),
    percent: z.number().int().min(0, 'percent must be 0-100').max(100, 'percent must be 0-100').optional(),
    fraction: z
      .strictObject({
        numerator: z.number().int().min(0, 'numerator must not be negative'),
        denominator: z.number().int().min(1, 'denominator must be at least 1').optional(),
      })
      .superRefine((f, ctx) => {
        if (f.numerator > (f.denominator ?? 100)) custom(ctx, 'numerator must be less than or equal to denominator');
      })
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.percent !== undefined && m.fraction !== undefined)
      custom(ctx, 'Only one of percent or fraction may be specified');
  });

const corsSchema: z.ZodType<HTTPCORSFilter> = z.strictObject({
  allowOrigins: z.array(z.string().min(1)).optional(),
  allowCredentials: z.boolean().optional(),
  allowMethods: z.array(z.string()).optional(),
  allowHeaders: z.array(headerName).optional(),
  exposeHeaders: z.array(headerName).optional(),
  maxAge: z.number().int().min(1, 'maxAge must be at least 1').optional(),
});

const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  CORS: 'cors',
  ExtensionRef: 'extensionRef',
} as const;

function filterSchema(where: 'rule' | 'backend'): z.ZodType<HTTPRouteFilter> {
  return z
    .strictObject({
      type: z.enum(Object.keys(FILTER_FIELDS) as [keyof typeof FILTER_FIELDS]),
      requestHeaderModifier: headerFilterSchema.optional(),
      responseHeaderModifier: headerFilterSchema.optional(),
      requestRedirect: z
        .strictObject({
          scheme: z.enum(['http', 'https']).optional(),
          hostname: pattern(PRECISE_HOSTNAME, 'hostname', 253).optional(),
          path: pathModifierSchema.optional(),
          port: port.optional(),
          statusCode: z
            .number()
            .refine((c) => [301, 302, 303, 307, 308].includes(c), 'statusCode must be one of 301, 302, 303, 307, 308')
            .optional(),
        })
        .optional(),
      urlRewrite: z
        .strictObject({
          hostname: pattern(PRECISE_HOSTNAME, 'hostname', 253).optional(),
          path: pathModifierSchema.optional(),
        })
        .optional(),
      requestMirror: mirrorSchema.optional(),
      cors: corsSchema.optional(),
      extensionRef: z.strictObject({ group, kind, name: objectName }).optional(),
    })
    .superRefine(refineFilter(FILTER_FIELDS, where));
}

/**
 * The CRD's rule that a filter sets the field of its type and no other, and what istiod's
 * conversion refuses (the route is dropped with "unsupported filter type"): ExtensionRef, and on a
 * backendRef anything but the header modifiers. HTTPRoute's and GRPCRoute's filters alike.
 */
function refineFilter(fields: Readonly<Record<string, string>>, where: 'rule' | 'backend') {
  return (f: { readonly type: string }, ctx: z.RefinementCtx): void => {
    const set = f as unknown as Readonly<Record<string, unknown>>;
    for (const [type, field] of Object.entries(fields)) {
      if (f.type === type && set[field] === undefined)
        custom(ctx, `filter.${field} must be specified for ${type} filter.type`, [field]);
      if (f.type !== type && set[field] !== undefined)
        custom(ctx, `filter.${field} must be nil if the filter.type is not ${type}`, [field]);
    }
    const supported =
      where === 'rule'
        ? f.type !== 'ExtensionRef'
        : f.type === 'RequestHeaderModifier' || f.type === 'ResponseHeaderModifier';
    if (!supported)
      custom(ctx, `unsupported filter type "${f.type}"${where === 'backend' ? ' on a backendRef' : ''}`, ['type']);
  };
}

/** The CRD's rules on a filter list: no RequestRedirect with URLRewrite, the single-use filters once. */
function filterList(where: 'rule' | 'backend') {
  return z
    .array(filterSchema(where))
    .max(16, 'at most 16 filters may be given')
    .superRefine((list, ctx) => {
      const count = (t: string) => list.filter((f) => f.type === t).length;
      if (count('RequestRedirect') > 0 && count('URLRewrite') > 0)
        custom(ctx, 'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both');
      for (const t of ['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'CORS'])
        if (count(t) > 1) custom(ctx, `${t} filter cannot be repeated`);
    });
}

const backendRefSchema: z.ZodType<HTTPBackendRef> = z
  .strictObject({
    ...backendObjectReference,
    weight: z.number().int().min(0, 'weight must be 0-1000000').max(1_000_000, 'weight must be 0-1000000').optional(),
    filters: filterList('backend').optional(),
  })
  .superRefine(checkBackend);

const timeoutsSchema: z.ZodType<HTTPRouteTimeouts> = z
  .strictObject({ request: gatewayDuration.optional(), backendRequest: gatewayDuration.optional() })
  .superRefine((t, ctx) => {
    const request = t.request === undefined ? undefined : parseDuration(t.request);
    const backend = t.backendRequest === undefined ? undefined : parseDuration(t.backendRequest);
    if (request !== undefined && request !== 0 && backend !== undefined && backend > request)
      custom(ctx, 'backendRequest timeout cannot be longer than request timeout', ['backendRequest']);
  });

const prefixRewriteNeedsOnePrefix = (r: HTTPRouteRule, f: HTTPRouteFilter): boolean => {
  const path =
    f.type === 'RequestRedirect' ? f.requestRedirect?.path : f.type === 'URLRewrite' ? f.urlRewrite?.path : undefined;
  if (path?.type !== 'ReplacePrefixMatch') return true;
  const matches = r.matches ?? [];
  // the default match (no matches) is `PathPrefix /`
  if (matches.length === 0) return true;
  return matches.length === 1 && (matches[0]?.path?.type ?? 'PathPrefix') === 'PathPrefix';
};

const ruleSchema: z.ZodType<HTTPRouteRule> = z
  .strictObject({
    name: sectionName.optional(),
    matches: z.array(routeMatchSchema).max(64, 'at most 64 matches may be given').optional(),
    filters: filterList('rule').optional(),
    backendRefs: z.array(backendRefSchema).max(16, 'at most 16 backendRefs may be given').optional(),
    timeouts: timeoutsSchema.optional(),
    retry: z
      .strictObject({
        codes: z.array(z.number().int().min(400, 'codes must be 400-599').max(599, 'codes must be 400-599')).optional(),
        attempts: z.number().int().min(0, 'attempts must not be negative').optional(),
        backoff: gatewayDuration.optional(),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    const filters = r.filters ?? [];
    if ((r.backendRefs?.length ?? 0) > 0 && filters.some((f) => f.type === 'RequestRedirect'))
      custom(ctx, 'RequestRedirect filter must not be used together with backendRefs', ['filters']);
    filters.forEach((f, i) => {
      if (!prefixRewriteNeedsOnePrefix(r, f))
        custom(
          ctx,
          `When using ${f.type} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified`,
          ['filters', i],
        );
    });
  });

/**
 * A route's spec (HTTPRoute's and GRPCRoute's have the same shape around their rules): the CRD's
 * limits, the parentRefs rules, at most 128 matches in all, rule names unique.
 */
function routeSpecSchema<R extends { readonly name?: string; readonly matches?: readonly unknown[] }>(
  rule: z.ZodType<R>,
) {
  return z
    .strictObject({
      parentRefs: z.array(parentRefSchema).max(32, 'at most 32 parentRefs may be given').optional(),
      hostnames: z
        .array(pattern(HOSTNAME, 'hostname', 253))
        .max(16, 'at most 16 hostnames may be given')
        .optional(),
      rules: z.array(rule).max(16, 'at most 16 rules may be given').optional(),
    })
    .superRefine((s, ctx) => {
      checkParentRefs(s.parentRefs, ctx);
      const rules = s.rules ?? [];
      const matches = rules.reduce((n, r) => n + Math.max(1, r.matches?.length ?? 0), 0);
      if (matches > 128)
        custom(ctx, 'the total number of matches across all rules in a route must be less than 128', ['rules']);
      const names = new Set<string>();
      rules.forEach((r, i) => {
        if (r.name === undefined) return;
        if (names.has(r.name)) custom(ctx, 'Rule name must be unique within the route', ['rules', i, 'name']);
        names.add(r.name);
      });
    });
}

export const httpRouteSpecSchema: z.ZodType<HTTPRouteSpec> = routeSpecSchema(ruleSchema);

// ------------------------------------------------------------------------------------------------
// GRPCRoute
// ------------------------------------------------------------------------------------------------

const GRPC_SERVICE = /^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i;
const GRPC_METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;

const grpcMethodMatchSchema: z.ZodType<GRPCMethodMatch> = z
  .strictObject({
    type: z.enum(['Exact', 'RegularExpression']).optional(),
    service: z.string().max(1024, 'service must be at most 1024 characters').optional(),
    method: z.string().max(1024, 'method must be at most 1024 characters').optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.service ?? '') === '' && (m.method ?? '') === '')
      custom(ctx, "One or both of 'service' or 'method' must be specified");
    if ((m.type ?? 'Exact') === 'Exact') {
      if (m.service !== undefined && m.service !== '' && !GRPC_SERVICE.test(m.service))
        custom(
          ctx,
          'service must only contain valid characters (matching ^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)',
          ['service'],
        );
      if (m.method !== undefined && m.method !== '' && !GRPC_METHOD.test(m.method))
        custom(ctx, 'method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)', ['method']);
      return;
    }
    // istiod builds one RE2 pattern from both parts
    for (const field of ['service', 'method'] as const) {
      const v = m[field];
      if (v === undefined || v === '') continue;
      const r = re2Pattern.safeParse(v);
      if (!r.success) custom(ctx, r.error.issues[0]?.message ?? 'invalid regex', [field]);
    }
  });

const grpcRouteMatchSchema: z.ZodType<GRPCRouteMatch> = z.strictObject({
  method: grpcMethodMatchSchema.optional(),
  headers: uniqueNames<HTTPHeaderMatch>(valueMatch('header'), 16, 'header').optional(),
});

const GRPC_FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
} as const;

function grpcFilterSchema(where: 'rule' | 'backend'): z.ZodType<GRPCRouteFilter> {
  return z
    .strictObject({
      type: z.enum(Object.keys(GRPC_FILTER_FIELDS) as [keyof typeof GRPC_FILTER_FIELDS]),
      requestHeaderModifier: headerFilterSchema.optional(),
      responseHeaderModifier: headerFilterSchema.optional(),
      requestMirror: mirrorSchema.optional(),
      extensionRef: z.strictObject({ group, kind, name: objectName }).optional(),
    })
    .superRefine(refineFilter(GRPC_FILTER_FIELDS, where));
}

function grpcFilterList(where: 'rule' | 'backend') {
  return z
    .array(grpcFilterSchema(where))
    .max(16, 'at most 16 filters may be given')
    .superRefine((list, ctx) => {
      for (const t of ['RequestHeaderModifier', 'ResponseHeaderModifier'])
        if (list.filter((f) => f.type === t).length > 1) custom(ctx, `${t} filter cannot be repeated`);
    });
}

const grpcBackendRefSchema: z.ZodType<GRPCBackendRef> = z
  .strictObject({
    ...backendObjectReference,
    weight: z.number().int().min(0, 'weight must be 0-1000000').max(1_000_000, 'weight must be 0-1000000').optional(),
    filters: grpcFilterList('backend').optional(),
  })
  .superRefine(checkBackend);

const grpcRuleSchema: z.ZodType<GRPCRouteRule> = z.strictObject({
  name: sectionName.optional(),
  matches: z.array(grpcRouteMatchSchema).max(64, 'at most 64 matches may be given').optional(),
  filters: grpcFilterList('rule').optional(),
  backendRefs: z.array(grpcBackendRefSchema).max(16, 'at most 16 backendRefs may be given').optional(),
});

export const grpcRouteSpecSchema: z.ZodType<GRPCRouteSpec> = routeSpecSchema(grpcRuleSchema);

// ------------------------------------------------------------------------------------------------
// Gateway
// ------------------------------------------------------------------------------------------------

const listenerSchema = z
  .strictObject({
    name: sectionName,
    hostname: pattern(HOSTNAME, 'hostname', 253).optional(),
    port,
    protocol: z
      .string()
      .max(255)
      .regex(
        /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/,
        'invalid protocol',
      ),
    // TLS settings are read only to be reported: Inboard serves plain-text HTTP listeners
    tls: z.record(z.string(), z.unknown()).optional(),
    allowedRoutes: z
      .strictObject({
        namespaces: z
          .strictObject({
            from: z.enum(['All', 'Same', 'Selector']).optional(),
            selector: z.record(z.string(), z.unknown()).optional(),
          })
          .optional(),
        kinds: z
          .array(z.strictObject({ group: group.optional(), kind }))
          .max(8)
          .optional(),
      })
      .optional(),
  })
  .superRefine((l, ctx) => {
    if (['TCP', 'UDP'].includes(l.protocol) && l.hostname !== undefined)
      custom(ctx, 'hostname must not be specified for protocols ["TCP", "UDP"]', ['hostname']);
    if (['HTTPS', 'TLS'].includes(l.protocol) && l.tls === undefined)
      custom(ctx, 'tls must be specified for protocols ["HTTPS", "TLS"]', ['tls']);
    if (['HTTP', 'TCP', 'UDP'].includes(l.protocol) && l.tls !== undefined)
      custom(ctx, 'tls must not be specified for protocols ["HTTP", "TCP", "UDP"]', ['tls']);
    if (l.allowedRoutes?.namespaces?.from === 'Selector' && l.allowedRoutes.namespaces.selector === undefined)
      custom(ctx, 'selector must be specified when from is set to "Selector"', ['allowedRoutes', 'namespaces']);
  });

export const kubernetesGatewaySpecSchema: z.ZodType<KubernetesGatewaySpec> = z
  .strictObject({
    gatewayClassName: objectName,
    listeners: z.array(listenerSchema).min(1, 'at least one listener is required').max(64, 'at most 64 listeners'),
    addresses: z
      .array(z.strictObject({ type: z.string().optional(), value: z.string().min(1).max(253) }))
      .max(16)
      .optional(),
    // how the gateway's pods are deployed: nothing for a control plane that serves existing nodes
    infrastructure: z.unknown().optional(),
  })
  .superRefine((g, ctx) => {
    const names = new Set<string>();
    const combos = new Set<string>();
    g.listeners.forEach((l, i) => {
      if (names.has(l.name)) custom(ctx, 'Listener name must be unique within the Gateway', ['listeners', i, 'name']);
      names.add(l.name);
      const combo = `${l.port}/${l.protocol}/${l.hostname ?? ''}`;
      if (combos.has(combo))
        custom(ctx, 'Combination of port, protocol and hostname must be unique for each listener', ['listeners', i]);
      combos.add(combo);
    });
  }) as z.ZodType<KubernetesGatewaySpec>;

export { isCoreService };
