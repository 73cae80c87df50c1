// Zod building blocks shared by the Istio and registry schemas: the value rules istiod's
// validation applies everywhere (durations, RE2 patterns, percentages, ports, hosts, labels).
//
// Objects below `spec` are strict: an unknown key is reported (as a warning, see
// document-validator.ts) instead of silently dropped, because Istio adds fields often and a user
// must learn that Inboard ignores one.
import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { re2SyntaxError } from './re2-syntax.ts';

/** A superRefine callback from a function returning an error message (or undefined when valid). */
export function valid<T>(test: (value: T) => string | undefined) {
  return (value: T, ctx: z.RefinementCtx): void => {
    const message = test(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  };
}

export interface DurationRule {
  /** Accept "0s" (a disabled timeout). Istio otherwise requires at least 1ms. */
  readonly allowZero?: boolean;
}

/** A duration string, kept as written (the translator converts it), validated like istiod's ValidateDuration. */
export function duration(rule: DurationRule = {}) {
  return z.string().superRefine((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration "${text}": expected a number with a unit (ns, us, ms, s, m, h) like "1.5s", "100ms" or "2m"`,
      });
    } else if (ms === 0 && rule.allowZero === true) {
      return;
    } else if (ms < 1) {
      ctx.addIssue({ code: 'custom', message: `duration "${text}" must be at least 1ms` });
    } else if (Math.abs(ms - Math.round(ms)) > 1e-9) {
      ctx.addIssue({ code: 'custom', message: `duration "${text}": only millisecond precision is supported` });
    }
  });
}

/** An RE2 pattern (Envoy safe_regex). Istio caps the length at 1024. */
export const re2Pattern = z.string().superRefine((pattern, ctx) => {
  if (pattern === '') {
    ctx.addIssue({ code: 'custom', message: 'regex must not be empty' });
    return;
  }
  if (pattern.length > 1024) {
    ctx.addIssue({ code: 'custom', message: 'regex is too large, max length allowed is 1024' });
    return;
  }
  const err = re2SyntaxError(pattern);
  if (err !== undefined) ctx.addIssue({ code: 'custom', message: `invalid RE2 regex: ${err}` });
});

/** istio.networking.v1.StringMatch: at most one of exact / prefix / regex (none means "present"). */
export const stringMatch = z
  .strictObject({
    exact: z.string().optional(),
    prefix: z.string().optional(),
    regex: re2Pattern.optional(),
  })
  .superRefine((m, ctx) => {
    const set = (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined);
    if (set.length > 1)
      ctx.addIssue({
        code: 'custom',
        message: `only one of exact, prefix or regex may be set (found ${set.join(', ')})`,
      });
  });

/** istio Percent: 0, or 0.0001 … 100. */
export const percent = z.strictObject({
  value: z
    .number()
    .min(0, 'percentage must be between 0 and 100')
    .max(100, 'percentage must be between 0 and 100')
    .refine((v) => v === 0 || v >= 0.0001, 'percentage must be 0 or at least 0.0001'),
});

/** The deprecated integer percentages (`percent`, `mirrorPercent`). */
export const intPercent = z
  .number()
  .int()
  .min(0, 'percentage must be between 0 and 100')
  .max(100, 'percentage must be between 0 and 100');

export const port = z
  .number()
  .int('port must be an integer')
  .min(1, 'port must be in 1..65535')
  .max(65535, 'port must be in 1..65535');

export const nonNegativeInt = z.number().int().min(0, 'must not be negative');

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

export const dnsLabel = z
  .string()
  .superRefine(
    valid((s) =>
      isDns1123Label(s)
        ? undefined
        : `"${s}" is not a valid DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)`,
    ),
  );

/** A hostname with an optional leading wildcard (`*`, `*.example.com`, `reviews`, `reviews.default.svc.cluster.local`). */
export function wildcardDomainError(host: string): string | undefined {
  if (host === '') return 'host must not be empty';
  if (host.length > 255) return `host "${host}" is longer than 255 characters`;
  if (host === '*') return undefined;
  const rest = host.startsWith('*.') ? host.slice(2) : host;
  const labels = rest.split('.');
  if (labels.some((l) => !isDns1123Label(l)))
    return `"${host}" is not a valid hostname (lowercase DNS labels, optionally starting with "*.")`;
  return undefined;
}

export function isIpAddress(s: string): boolean {
  return /^(\d{1,3})(\.\d{1,3}){3}$/.test(s)
    ? s.split('.').every((o) => Number(o) <= 255)
    : /^[0-9a-fA-F:]+(%.+)?$/.test(s) && s.includes(':');
}

/** An IP address or a CIDR block. */
export function ipOrCidrError(s: string): string | undefined {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || ip === undefined || !isIpAddress(ip)) return `"${s}" is not an IP address or CIDR block`;
  if (bits !== undefined) {
    const max = ip.includes(':') ? 128 : 32;
    if (!/^\d+$/.test(bits) || Number(bits) > max) return `"${s}" has an invalid prefix length`;
  }
  return undefined;
}

export const host = z.string().superRefine((h, ctx) => {
  const err = wildcardDomainError(h);
  if (err !== undefined) ctx.addIssue({ code: 'custom', message: err });
});

const LABEL_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Kubernetes label key: `[prefix/]name`. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isDns1123Subdomain(prefix))
    return `invalid label key "${key}": the prefix must be a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) return `invalid label key "${key}"`;
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !LABEL_NAME.test(value)) return `invalid label value "${value}"`;
  return undefined;
}

/** A label map (`labels`, `selector`, `matchLabels`). */
export const labels = z.record(z.string(), z.string()).superRefine((map, ctx) => {
  for (const [k, v] of Object.entries(map)) {
    const err = labelKeyError(k) ?? labelValueError(v);
    if (err !== undefined) ctx.addIssue({ code: 'custom', message: err, path: [k] });
  }
});

/** A workload selector must not use wildcards (istiod: "wildcard is not supported in selector"). */
export const selectorLabels = labels.superRefine((map, ctx) => {
  for (const [k, v] of Object.entries(map)) {
    if (k.includes('*') || v.includes('*'))
      ctx.addIssue({ code: 'custom', message: `wildcard is not supported in selector: "${k}=${v}"`, path: [k] });
  }
});

export const stringMap = z.record(z.string(), z.string());

/** Istio protocols (case-insensitive) as `protocol.Parse` knows them. */
const PROTOCOLS = new Set([
  'tcp',
  'udp',
  'grpc',
  'grpc-web',
  'http',
  'http_proxy',
  'http2',
  'https',
  'tls',
  'mongo',
  'redis',
  'mysql',
]);

export const protocol = z
  .string()
  .superRefine(
    valid((p) =>
      PROTOCOLS.has(p.toLowerCase())
        ? undefined
        : `unsupported protocol "${p}" (HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, UDP, MONGO, REDIS, MYSQL)`,
    ),
  );

/** `exportTo`: ".", "*", "~" (ServiceEntry only) or namespaces, without duplicates or mixing "*". */
export function exportTo(options: { allowNone: boolean }) {
  return z.array(z.string()).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((e, i) => {
      if (seen.has(e)) ctx.addIssue({ code: 'custom', message: `duplicate entry "${e}" in exportTo`, path: [i] });
      seen.add(e);
      const ok = e === '.' || e === '*' || (e === '~' && options.allowNone) || isDns1123Label(e);
      if (!ok) ctx.addIssue({ code: 'custom', message: `invalid exportTo value "${e}"`, path: [i] });
    });
    if (seen.has('*') && list.length > 1)
      ctx.addIssue({ code: 'custom', message: 'cannot have both public (*) and non-public exportTo values' });
    if (seen.has('~') && list.length > 1)
      ctx.addIssue({ code: 'custom', message: 'cannot export to no one (~) and someone' });
  });
}

/** Kubernetes object metadata: only what Inboard reads; the rest (uid, managedFields...) is dropped silently. */
export const objectMeta = z.object({
  name: z
    .string()
    .min(1, 'Required')
    .superRefine(
      valid((s) => (isDns1123Subdomain(s) ? undefined : `"${s}" is not a valid name (a lowercase DNS-1123 subdomain)`)),
    ),
  // Filled with the default namespace before validation when absent.
  namespace: z
    .string()
    .superRefine(valid((s) => (isDns1123Label(s) ? undefined : `"${s}" is not a valid namespace (a DNS-1123 label)`))),
  labels: labels.optional(),
  annotations: stringMap.optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  // `kubectl create --dry-run -o yaml` writes `creationTimestamp: null`.
  creationTimestamp: z
    .string()
    .nullish()
    .transform((v) => v ?? undefined),
});
