// Envoy route matching and route actions, compiled from the xDS model. Pure: no sockets, no
// clocks; randomness is injected.
export { asciiLower } from './ascii-case.ts';
export { type DirectResponse, directResponse } from './direct-response.ts';
export { effectiveMirrorPolicies, effectiveRetryPolicy, FilterConfigChain } from './effective-policy.ts';
export { fractionalPercentHit } from './fractional-percent.ts';
export { httpToGrpcStatus, isGrpcContentType } from './grpc.ts';
export { compileHeaderMatcher, compileHeaderMatchers, type RequestPredicate } from './header-matcher.ts';
export {
  composeHeaderMutator,
  type HeaderMutator,
  type HeaderRecord,
  literalHeaderValue,
  MutationLevel,
  NOOP_MUTATOR,
} from './header-mutation.ts';
export { rewriteHost } from './host-rewrite.ts';
export { MatchContext, pathEndOf } from './match-context.ts';
export { compilePathRewrite, type PathRewriter, rewritePath } from './path-rewrite.ts';
export { compileQueryParameterMatcher, firstQueryValue } from './query-matcher.ts';
export { defaultRandom, type RandomSource } from './random.ts';
export { compileRe2, type Re2 } from './re2.ts';
export { compileRe2Substitution } from './re2-substitution.ts';
export { type RedirectResponse, redirectResponse } from './redirect.ts';
export { Re2SyntaxError, RouteCompileError } from './route-compile-error.ts';
export {
  compileHeaderReader,
  firstHeaderValue,
  type HeaderGetter,
  type HeaderValue,
  headerGetter,
  type IncomingHeaders,
  joinedHeaderValue,
  type RouteRequest,
} from './route-request.ts';
export {
  type ClusterChoice,
  type CompiledVirtualHost,
  compileRouteTable,
  type RouteEntry,
  RouteTable,
  type RouteTableOptions,
} from './route-table.ts';
export { compileStringMatcher, type StringPredicate } from './string-matcher.ts';
export { chooseCluster } from './weighted-cluster.ts';
