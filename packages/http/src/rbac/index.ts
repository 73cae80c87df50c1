// Envoy RBAC (the HTTP filter istiod builds from AuthorizationPolicy), compiled once per config.
export { compileCidr, type IpPredicate } from './cidr-matcher.ts';
export {
  evaluateRbacFilters,
  RBAC_ALLOW_ALL,
  type RbacDecision,
  type RbacFilter,
  rbacDeniedDetails,
} from './rbac-filters.ts';
export { compilePermission, compilePolicyMatch, compilePrincipal, type RbacPredicate } from './rbac-matcher.ts';
export { CompiledRbac, compileRbac, RbacCompileError, type RbacResult } from './rbac-policies.ts';
export type { PeerCertificate, RbacRequest } from './rbac-request.ts';
