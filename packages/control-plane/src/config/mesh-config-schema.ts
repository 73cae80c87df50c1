// Inboard's `MeshConfig` document (inboard.dev/v1alpha1): the few istiod mesh settings the
// translator reads (trust domain, root namespace, defaults), so a local run needs no istiod flags.
import { z } from 'zod';
import type { MeshConfig } from './istio-types.ts';
import { httpRetrySchema, localityLbSettingSchema } from './networking-schemas.ts';
import { dnsLabel, duration, exportTo, valid, wildcardDomainError } from './schema-primitives.ts';

const domain = z.string().superRefine(valid(wildcardDomainError));

export const meshConfigSchema: z.ZodType<MeshConfig> = z.strictObject({
  trustDomain: domain.optional(),
  trustDomainAliases: z.array(domain).optional(),
  rootNamespace: dnsLabel.optional(),
  domainSuffix: domain.optional(),
  clusterId: z.string().min(1).optional(),
  defaultHttpRetryPolicy: httpRetrySchema.optional(),
  enableAutoMtls: z.boolean().optional(),
  connectTimeout: duration().optional(),
  localityLbSetting: localityLbSettingSchema.optional(),
  outboundTrafficPolicy: z.strictObject({ mode: z.enum(['REGISTRY_ONLY', 'ALLOW_ANY']).optional() }).optional(),
  defaultServiceExportTo: exportTo({ allowNone: false }).optional(),
  defaultVirtualServiceExportTo: exportTo({ allowNone: false }).optional(),
  defaultDestinationRuleExportTo: exportTo({ allowNone: false }).optional(),
});
