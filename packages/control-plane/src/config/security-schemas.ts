// security.istio.io specs (PeerAuthentication, AuthorizationPolicy, RequestAuthentication) as zod
// schemas, with istiod's validation rules (pkg/config/validation, pkg/config/security).
import { z } from 'zod';
import type {
  AuthorizationPolicySpec,
  Operation,
  PeerAuthenticationSpec,
  PolicyTargetReference,
  RequestAuthenticationSpec,
  Source,
  WorkloadSelector,
} from './istio-types.ts';
import { duration, ipOrCidrError, selectorLabels } from './schema-primitives.ts';

function custom(ctx: z.RefinementCtx, message: string, path?: PropertyKey[]): void {
  ctx.addIssue(path === undefined ? { code: 'custom', message } : { code: 'custom', message, path });
}

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;

/** A list whose entries must not be empty strings (`security.CheckEmptyValues`). */
const values = z.array(z.string()).superRefine((list, ctx) => {
  list.forEach((v, i) => {
    if (v === '') custom(ctx, 'empty value not allowed', [i]);
  });
});

const ipBlocks = values.superRefine((list, ctx) => {
  list.forEach((v, i) => {
    const err = v === '' ? undefined : ipOrCidrError(v);
    if (err !== undefined) custom(ctx, err, [i]);
  });
});

const ports = values.superRefine((list, ctx) => {
  list.forEach((v, i) => {
    if (v !== '' && !(/^\d+$/.test(v) && Number(v) >= 0 && Number(v) <= 65535)) custom(ctx, `invalid port "${v}"`, [i]);
  });
});

const workloadSelector: z.ZodType<WorkloadSelector> = z.strictObject({ matchLabels: selectorLabels.optional() });

// Istio allows policies to attach to a Service, a ServiceEntry or a Kubernetes Gateway.
const TARGET_KINDS = new Map([
  ['Service', ['', 'core']],
  ['ServiceEntry', ['networking.istio.io']],
  ['Gateway', ['gateway.networking.k8s.io']],
]);

const targetRef: z.ZodType<PolicyTargetReference> = z
  .strictObject({
    group: z.string().optional(),
    kind: z.string().min(1, 'Required'),
    name: z.string().min(1, 'targetRef name must be set'),
    namespace: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.namespace ?? '') !== '')
      custom(ctx, 'targetRef namespace must not be set; cross namespace referencing is not supported', ['namespace']);
    const groups = TARGET_KINDS.get(r.kind);
    if (groups === undefined || !groups.includes(r.group ?? '')) {
      custom(
        ctx,
        `targetRef must be to a Service, ServiceEntry or gateway.networking.k8s.io Gateway, not ${r.group ?? ''}/${r.kind}`,
        ['kind'],
      );
    }
  });

function checkSelectorKinds(
  spec: { selector?: unknown; targetRef?: unknown; targetRefs?: readonly unknown[] | undefined },
  ctx: z.RefinementCtx,
): void {
  const set = [spec.selector !== undefined, spec.targetRef !== undefined, (spec.targetRefs?.length ?? 0) > 0].filter(
    Boolean,
  ).length;
  if (set > 1) custom(ctx, 'only one of selector, targetRef or targetRefs can be set', ['selector']);
}

export const peerAuthenticationSpecSchema: z.ZodType<PeerAuthenticationSpec> = z
  .strictObject({
    selector: workloadSelector.optional(),
    mtls: z.strictObject({ mode: z.enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']).optional() }).optional(),
    portLevelMtls: z
      .record(z.string(), z.strictObject({ mode: z.enum(['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT']).optional() }))
      .superRefine((map, ctx) => {
        for (const key of Object.keys(map)) {
          if (!/^\d+$/.test(key) || Number(key) < 1 || Number(key) > 65535)
            custom(ctx, `port must be in range 1..65535 (found "${key}")`, [key]);
        }
      })
      .optional(),
  })
  .superRefine((pa, ctx) => {
    const emptySelector = Object.keys(pa.selector?.matchLabels ?? {}).length === 0;
    if (pa.portLevelMtls !== undefined) {
      if (emptySelector)
        custom(ctx, 'mesh/namespace peer authentication cannot have port level mTLS', ['portLevelMtls']);
      else if (Object.keys(pa.portLevelMtls).length === 0)
        custom(ctx, 'port level mTLS, if defined, must have at least one element', ['portLevelMtls']);
    }
  });

const sourceSchema: z.ZodType<Source> = z
  .strictObject({
    principals: values.optional(),
    notPrincipals: values.optional(),
    requestPrincipals: values.optional(),
    notRequestPrincipals: values.optional(),
    namespaces: values.optional(),
    notNamespaces: values.optional(),
    ipBlocks: ipBlocks.optional(),
    notIpBlocks: ipBlocks.optional(),
    remoteIpBlocks: ipBlocks.optional(),
    notRemoteIpBlocks: ipBlocks.optional(),
    serviceAccounts: values.optional(),
    notServiceAccounts: values.optional(),
  })
  .superRefine((s, ctx) => {
    if (Object.values(s).every((v) => v === undefined || v.length === 0))
      custom(ctx, '`from.source` must not be empty');
  });

const operationSchema: z.ZodType<Operation> = z
  .strictObject({
    hosts: values.optional(),
    notHosts: values.optional(),
    ports: ports.optional(),
    notPorts: ports.optional(),
    methods: values.optional(),
    notMethods: values.optional(),
    paths: values.optional(),
    notPaths: values.optional(),
  })
  .superRefine((o, ctx) => {
    if (Object.values(o).every((v) => v === undefined || v.length === 0))
      custom(ctx, '`to.operation` must not be empty');
  });

export const authorizationPolicySpecSchema: z.ZodType<AuthorizationPolicySpec> = z
  .strictObject({
    selector: workloadSelector.optional(),
    targetRef: targetRef.optional(),
    targetRefs: z.array(targetRef).optional(),
    rules: z
      .array(
        z.strictObject({
          from: z
            .array(z.strictObject({ source: sourceSchema }))
            .min(1, '`from` must not be empty')
            .optional(),
          to: z
            .array(z.strictObject({ operation: operationSchema }))
            .min(1, '`to` must not be empty')
            .optional(),
          when: z
            .array(
              z
                .strictObject({
                  key: z.string().min(1, '`key` must not be empty'),
                  // An empty value is meaningful here: `notValues: [""]` requires a header to be present.
                  values: z.array(z.string()).optional(),
                  notValues: z.array(z.string()).optional(),
                })
                .superRefine((c, ctx) => {
                  if ((c.values?.length ?? 0) === 0 && (c.notValues?.length ?? 0) === 0) {
                    custom(ctx, `at least one of values or notValues must be set for key ${c.key}`);
                  }
                }),
            )
            .optional(),
        }),
      )
      .optional(),
    action: z.enum(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']).optional(),
    provider: z.strictObject({ name: z.string() }).optional(),
  })
  .superRefine((ap, ctx) => {
    checkSelectorKinds(ap, ctx);
    const action = ap.action ?? 'ALLOW';
    if (action === 'CUSTOM') {
      if (ap.rules === undefined)
        custom(
          ctx,
          'CUSTOM action without `rules` is meaningless as it will never be triggered; add an empty rule `{}` to trigger it for every request',
          ['rules'],
        );
      else if ((ap.provider?.name ?? '') === '') custom(ctx, '`provider.name` must not be empty', ['provider']);
    } else if (ap.provider !== undefined) {
      custom(ctx, `\`provider\` must not be set with a non CUSTOM action (found ${action})`, ['provider']);
    }
    if (action === 'DENY' && ap.rules === undefined) {
      custom(
        ctx,
        'DENY action without `rules` is meaningless as it will never be triggered; add an empty rule `{}` to trigger it for every request',
        ['rules'],
      );
    }
  });

export const requestAuthenticationSpecSchema: z.ZodType<RequestAuthenticationSpec> = z
  .strictObject({
    selector: workloadSelector.optional(),
    targetRef: targetRef.optional(),
    targetRefs: z.array(targetRef).optional(),
    jwtRules: z
      .array(
        z.strictObject({
          issuer: z.string().min(1, 'issuer must be set'),
          audiences: values.optional(),
          jwksUri: z
            .string()
            .superRefine((uri, ctx) => {
              let u: URL | undefined;
              try {
                u = new URL(uri);
              } catch {
                u = undefined;
              }
              if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:'))
                custom(ctx, `jwksUri "${uri}" is not an http(s) URL`);
            })
            .optional(),
          jwks: z
            .string()
            .superRefine((text, ctx) => {
              let keys: unknown;
              try {
                keys = (JSON.parse(text) as { keys?: unknown }).keys;
              } catch (err) {
                custom(ctx, `jwks parse error: ${err instanceof Error ? err.message : String(err)}`);
                return;
              }
              if (!Array.isArray(keys))
                custom(ctx, 'jwks parse error: expected a JSON Web Key Set with a "keys" array');
            })
            .optional(),
          fromHeaders: z
            .array(
              z.strictObject({
                name: z.string().min(1, 'location header name must be non-empty'),
                prefix: z.string().optional(),
              }),
            )
            .optional(),
          fromParams: values.optional(),
          fromCookies: values.optional(),
          outputPayloadToHeader: z.string().optional(),
          forwardOriginalToken: z.boolean().optional(),
          outputClaimToHeaders: z
            .array(
              z.strictObject({
                header: z
                  .string()
                  .min(1, 'outputClaimToHeaders header must be non-empty')
                  .refine((h) => HEADER_NAME.test(h), 'not a valid header name'),
                claim: z.string().min(1, 'outputClaimToHeaders claim must be non-empty'),
              }),
            )
            .optional(),
          timeout: duration().optional(),
        }),
      )
      .optional(),
  })
  .superRefine((ra, ctx) => checkSelectorKinds(ra, ctx));
