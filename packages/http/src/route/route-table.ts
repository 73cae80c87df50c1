// RouteConfiguration → RouteTable: compiled once per snapshot, immutable afterwards.
// Lookup is Envoy's: the virtual host by the lower-cased :authority (see vhost-index.ts), then
// that host's routes in order, first match wins. Every matcher is built here (RE2 patterns
// included), so a lookup only reads. Each route's path condition sits in the virtual host's flat
// PathScreen and is checked first; only a route that passes it gets its other conditions run.
// Allocations per lookup: one MatchContext (once a screen passes), plus the path-without-query
// string when a regex needs it and a query value when one is found.
import type {
  ClusterWeight,
  FilterOverrides,
  HeaderMatcher,
  HeaderMutations,
  Route,
  RouteConfiguration,
  VirtualHost,
} from '@inboard/xds';
import { compileFault } from '../fault/compiled-fault.ts';
import { asciiLower } from './ascii-case.ts';
import { effectiveMirrorPolicies, effectiveRetryPolicy, FilterConfigChain } from './effective-policy.ts';
import { fractionalPercentHit } from './fractional-percent.ts';
import { isGrpcRequest } from './grpc.ts';
import { compileHeaderMatcher } from './header-matcher.ts';
import {
  composeHeaderMutator,
  HeaderMutationConfigError,
  type HeaderMutator,
  MutationLevel,
  orderLevels,
} from './header-mutation.ts';
import { MatchContext, pathEndOf, pathEndWithoutParameters } from './match-context.ts';
import { type CompiledPathMatch, compilePathMatch, PathScreen, type PathScreenSpec } from './path-matcher.ts';
import { compilePathRewrite, type PathRewriter } from './path-rewrite.ts';
import { compileQueryParameterMatcher } from './query-matcher.ts';
import { defaultRandom, type RandomSource } from './random.ts';
import { RouteCompileError } from './route-compile-error.ts';
import { joinedHeaderValue, pseudoHeaderReader, type RouteRequest } from './route-request.ts';
import { VirtualHostIndex } from './vhost-index.ts';

export interface RouteTableOptions {
  /** Draws a lookup's random value (runtime_fraction) when match() is not given one. */
  readonly random?: RandomSource;
  /**
   * This workload's IP, for `%DOWNSTREAM_REMOTE_ADDRESS%` in header values (an in-process
   * request's downstream is the process itself). Default 127.0.0.1.
   */
  readonly localAddress?: string;
}

/** The cluster a request goes to, with the settings of its weighted-cluster entry if any. */
export interface ClusterChoice {
  readonly name: string;
  /** set when the cluster came from weighted_clusters */
  readonly weight: ClusterWeight | undefined;
  /** request header mutations of every level, in Envoy's order, weighted cluster included */
  readonly requestHeaders: HeaderMutator;
  readonly responseHeaders: HeaderMutator;
  /** typed_per_filter_config: weighted cluster > route > vhost > route config */
  readonly filters: FilterConfigChain;
}

/** A matched route: what RouteTable.match returns. Precompiled, shared by all requests. */
export interface RouteEntry {
  readonly vhost: VirtualHost;
  readonly route: Route;
  /** index of the route in vhost.routes */
  readonly routeIndex: number;
  readonly routeConfig: RouteConfiguration;
  /** the route's retry policy, else the vhost's (never merged); undefined unless forwarding */
  readonly retryPolicy: ReturnType<typeof effectiveRetryPolicy>;
  /** the most specific non-empty list: route, vhost, route config */
  readonly requestMirrorPolicies: ReturnType<typeof effectiveMirrorPolicies>;
  /** header mutations without a weighted cluster (direct responses, redirects, plain clusters) */
  readonly requestHeaders: HeaderMutator;
  readonly responseHeaders: HeaderMutator;
  /** typed_per_filter_config: route > vhost > route config */
  readonly filters: FilterConfigChain;
  /** `cluster`: the one cluster; `weighted_clusters`: all of them, in order; otherwise empty */
  readonly clusters: readonly ClusterChoice[];
  /** running sums of the weighted clusters' weights */
  readonly clusterEnds: readonly number[];
  readonly totalWeight: number;
  readonly pathMatch: CompiledPathMatch;
  /** the route's (or redirect's) prefix_rewrite / regex_rewrite */
  readonly pathRewriter: PathRewriter | undefined;
  /** all match conditions of the route */
  readonly test: (ctx: MatchContext) => boolean;
}

export interface CompiledVirtualHost {
  readonly vhost: VirtualHost;
  readonly routes: readonly RouteEntry[];
  /** @internal each route's cheap path condition, checked before anything else */
  readonly screen: PathScreen;
  /** @internal each route's conditions beyond its screen */
  readonly rest: readonly ((ctx: MatchContext) => boolean)[];
  /**
   * @internal a header each route needs present (index into requiredHeaders, -1: none): a lookup
   * reads each such header once, and skips the routes whose header is missing without calling them
   */
  readonly requiredSlot: Int8Array;
  /** @internal the headers of requiredSlot (at most 31 per virtual host) */
  readonly requiredHeaders: readonly string[];
}

/**
 * A header the matcher cannot match without (none for pseudo headers, which are always there, nor
 * for `host`, which Envoy's header map aliases to `:authority`).
 */
function requiredHeaderOf(h: HeaderMatcher): string | undefined {
  if (h.treatMissingHeaderAsEmpty || h.name.startsWith(':') || pseudoHeaderReader(h.name) !== undefined)
    return undefined;
  if (h.match.kind === 'present') return h.match.present !== h.invert ? h.name : undefined;
  return h.name;
}

/** Start of the port in a host (HeaderUtility::getPortStart): after the last ':' outside `[...]`. */
function portStart(host: string): number {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return -1;
  const v6End = host.lastIndexOf(']');
  return v6End < 0 || v6End < colon ? colon : -1;
}

export class RouteTable {
  readonly config: RouteConfiguration;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly #index: VirtualHostIndex<CompiledVirtualHost>;
  readonly #random: RandomSource;
  readonly #ignorePort: boolean;
  readonly #stripPathParameters: boolean;
  /** the lookup context, reused (taken while a lookup runs, so a nested lookup gets its own) */
  #spare: MatchContext | undefined;
  #lastAuthority: string | undefined = undefined;
  #lastVirtualHost: CompiledVirtualHost | undefined = undefined;

  /** @internal use compileRouteTable */
  constructor(
    config: RouteConfiguration,
    virtualHosts: readonly CompiledVirtualHost[],
    index: VirtualHostIndex<CompiledVirtualHost>,
    random: RandomSource,
  ) {
    this.config = config;
    this.virtualHosts = virtualHosts;
    this.#index = index;
    this.#random = random;
    this.#ignorePort = config.ignorePortInHostMatching;
    this.#stripPathParameters = config.ignorePathParametersInPathMatching;
  }

  /** The virtual host for an :authority (lower-cased here; its port dropped if the config says so). */
  findVirtualHost(authority: string): CompiledVirtualHost | undefined {
    // the last answer first: callers mostly repeat a host, and the index is a large hash table
    if (authority === this.#lastAuthority) return this.#lastVirtualHost;
    const vh = this.#find(authority);
    this.#lastAuthority = authority;
    this.#lastVirtualHost = vh;
    return vh;
  }

  #find(authority: string): CompiledVirtualHost | undefined {
    let host = asciiLower(authority);
    if (this.#ignorePort) {
      const p = portStart(host);
      if (p >= 0) host = host.slice(0, p);
    }
    return this.#index.find(host);
  }

  /**
   * The first route of the request's virtual host that matches, or undefined (no virtual host or
   * no route: the caller replies 404 with response flag NR). `randomValue` (a non-negative
   * integer) is the stream's random value for runtime_fraction; drawn from options.random when
   * omitted and a route needs it.
   */
  match(req: RouteRequest, randomValue?: number): RouteEntry | undefined {
    const vh = this.findVirtualHost(req.authority);
    if (vh === undefined) return undefined;
    const routes = vh.routes;
    const path = req.path;
    const pathEnd = this.#stripPathParameters ? pathEndWithoutParameters(path) : pathEndOf(path);
    const screen = vh.screen;
    const requiredSlot = vh.requiredSlot;
    // bit k of `read`: requiredHeaders[k] was looked up; of `present`: it is there
    let read = 0;
    let present = 0;
    let ctx: MatchContext | undefined;
    let found: RouteEntry | undefined;
    for (let i = 0; i < routes.length; i++) {
      if (!screen.passes(i, path, pathEnd)) continue;
      const slot = requiredSlot[i]!;
      if (slot >= 0) {
        const bit = 1 << slot;
        if ((read & bit) === 0) {
          read |= bit;
          if (joinedHeaderValue(req.headers(vh.requiredHeaders[slot]!)) !== undefined) present |= bit;
        }
        if ((present & bit) === 0) continue;
      }
      if (ctx === undefined) {
        ctx = this.#spare;
        this.#spare = undefined;
        if (ctx === undefined) ctx = new MatchContext(req, pathEnd, randomValue, this.#random);
        else ctx.reset(req, pathEnd, randomValue);
      }
      if (vh.rest[i]!(ctx)) {
        found = routes[i];
        break;
      }
    }
    if (ctx !== undefined) {
      ctx.clear();
      this.#spare = ctx;
    }
    return found;
  }
}

type CtxPredicate = (ctx: MatchContext) => boolean;

const ALWAYS: CtxPredicate = () => true;

function allOfCtx(preds: readonly CtxPredicate[]): CtxPredicate {
  if (preds.length === 0) return ALWAYS;
  if (preds.length === 1) return preds[0]!;
  if (preds.length === 2) {
    const [a, b] = preds as [CtxPredicate, CtxPredicate];
    return (ctx) => a(ctx) && b(ctx);
  }
  return (ctx) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i]!(ctx)) return false;
    return true;
  };
}

interface Levels {
  readonly request: MutationLevel | undefined;
  readonly response: MutationLevel | undefined;
}

/** Builds a RouteTable; throws RouteCompileError naming the vhost, route index and field at fault. */
export function compileRouteTable(rc: RouteConfiguration, options?: RouteTableOptions): RouteTable {
  const fail = (vhost: string | undefined, routeIndex: number | undefined, field: string, err: unknown): never => {
    throw new RouteCompileError(rc.name, vhost, routeIndex, field, err instanceof Error ? err.message : String(err), {
      cause: err,
    });
  };
  const attempt = <T>(vhost: string | undefined, routeIndex: number | undefined, field: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      return fail(vhost, routeIndex, field, err);
    }
  };

  const env = { localAddress: options?.localAddress ?? '127.0.0.1' };
  const requestFormats = { response: false, env };
  const responseFormats = { response: true, env };
  const levels = (
    hm: HeaderMutations,
    vhost: string | undefined,
    routeIndex: number | undefined,
    at: string,
  ): Levels => {
    const one = (add: HeaderMutations['requestHeadersToAdd'], remove: readonly string[], dir: string) => {
      try {
        return MutationLevel.compile(add, remove, dir === 'response' ? responseFormats : requestFormats);
      } catch (err) {
        if (!(err instanceof HeaderMutationConfigError)) throw err;
        const list = err.list === 'add' ? 'HeadersToAdd' : 'HeadersToRemove';
        return fail(vhost, routeIndex, `${at}${dir}${list}[${err.index}]`, err);
      }
    };
    return {
      request: one(hm.requestHeadersToAdd, hm.requestHeadersToRemove, 'request'),
      response: one(hm.responseHeadersToAdd, hm.responseHeadersToRemove, 'response'),
    };
  };

  // Faults are compiled (and cached) now, so a bad regex fails the table rather than a request.
  const checkFilters = (fo: FilterOverrides, vhost: string | undefined, routeIndex: number | undefined, at: string) => {
    for (const name in fo) {
      const o = fo[name]!;
      if (o.kind === 'fault')
        attempt(vhost, routeIndex, `${at}filterOverrides[${JSON.stringify(name)}]`, () => compileFault(o.fault));
    }
    return fo;
  };

  const mostSpecificWins = rc.mostSpecificHeaderMutationsWins;
  const rcLevels = levels(rc.headerMutations, undefined, undefined, 'headerMutations.');
  const rcFilters = checkFilters(rc.filterOverrides, undefined, undefined, '');
  const index = new VirtualHostIndex<CompiledVirtualHost>();
  const compiled: CompiledVirtualHost[] = [];

  for (const vhost of rc.virtualHosts) {
    const vhLevels = levels(vhost.headerMutations, vhost.name, undefined, 'headerMutations.');
    const vhFilters = checkFilters(vhost.filterOverrides, vhost.name, undefined, '');
    const routes: RouteEntry[] = [];
    const screens: PathScreenSpec[] = [];
    const rests: CtxPredicate[] = [];
    const requiredHeaders: string[] = [];
    const requiredSlot = new Int8Array(vhost.routes.length).fill(-1);
    vhost.routes.forEach((route, routeIndex) => {
      const at = (field: string, fn: () => unknown) => attempt(vhost.name, routeIndex, field, fn);
      const m = route.match;
      const pathMatch = at('match.path', () => compilePathMatch(m.path, m.caseSensitive)) as CompiledPathMatch;

      // All conditions are ANDed and side-effect free (the random value is drawn once per
      // lookup), so their order is ours: the path screen first (in the virtual host's flat
      // arrays), then the other cheap checks, RE2 last.
      const cheap: CtxPredicate[] = [];
      const costly: CtxPredicate[] = [];
      if (!pathMatch.screenIsTest) costly.push(pathMatch.test);
      if (m.runtimeFraction !== undefined) {
        const fraction = m.runtimeFraction;
        cheap.push((ctx) => fractionalPercentHit(fraction, ctx.random()));
      }
      if (m.grpc) cheap.push(isGrpcRequest);
      m.headers.forEach((h, i) => {
        const pred = at(`match.headers[${i}]`, () => compileHeaderMatcher(h)) as CtxPredicate;
        (h.match.kind === 'string' && h.match.matcher.kind === 'regex' ? costly : cheap).push(pred);
      });
      m.queryParameters.forEach((q, i) => {
        const pred = at(`match.queryParameters[${i}]`, () => compileQueryParameterMatcher(q)) as CtxPredicate;
        (q.matcher?.kind === 'regex' ? costly : cheap).push(pred);
      });
      const rest = [...cheap, ...costly];
      const required = m.headers.map(requiredHeaderOf).find((name) => name !== undefined);
      if (required !== undefined) {
        let slot = requiredHeaders.indexOf(required);
        if (slot < 0 && requiredHeaders.length < 31) slot = requiredHeaders.push(required) - 1;
        requiredSlot[routeIndex] = slot;
      }
      screens.push(pathMatch.screen);
      rests.push(allOfCtx(rest));

      const action = route.action;
      let pathRewriter: PathRewriter | undefined;
      if (action.kind === 'route' || action.kind === 'redirect') {
        pathRewriter = at('action.regexRewrite', () => compilePathRewrite(action.prefixRewrite, action.regexRewrite)) as
          | PathRewriter
          | undefined;
      }

      const routeLevels = levels(route.headerMutations, vhost.name, routeIndex, 'headerMutations.');
      const routeFilters = checkFilters(route.filterOverrides, vhost.name, routeIndex, '');
      const mutator = (cluster: Levels | undefined, dir: keyof Levels) =>
        composeHeaderMutator(
          orderLevels(cluster?.[dir], routeLevels[dir], vhLevels[dir], rcLevels[dir], mostSpecificWins),
        );
      const requestHeaders = mutator(undefined, 'request');
      const responseHeaders = mutator(undefined, 'response');
      const filters = new FilterConfigChain([routeFilters, vhFilters, rcFilters]);

      const clusters: ClusterChoice[] = [];
      const clusterEnds: number[] = [];
      let totalWeight = 0;
      if (action.kind === 'route') {
        const spec = action.clusterSpecifier;
        if (spec.kind === 'cluster') {
          clusters.push({ name: spec.cluster, weight: undefined, requestHeaders, responseHeaders, filters });
        } else if (spec.kind === 'weighted_clusters') {
          spec.clusters.forEach((cw, i) => {
            const where = `action.clusterSpecifier.clusters[${i}].`;
            const cwLevels = levels(cw.headerMutations, vhost.name, routeIndex, `${where}headerMutations.`);
            const cwFilters = checkFilters(cw.filterOverrides, vhost.name, routeIndex, where);
            totalWeight += cw.weight;
            clusterEnds.push(totalWeight);
            clusters.push({
              name: cw.name,
              weight: cw,
              requestHeaders: mutator(cwLevels, 'request'),
              responseHeaders: mutator(cwLevels, 'response'),
              filters: new FilterConfigChain([cwFilters, routeFilters, vhFilters, rcFilters]),
            });
          });
          if (totalWeight <= 0) {
            fail(
              vhost.name,
              routeIndex,
              'action.clusterSpecifier',
              new Error('sum of weighted cluster weights must be above 0'),
            );
          }
        }
      }

      routes.push({
        vhost,
        route,
        routeIndex,
        routeConfig: rc,
        retryPolicy: effectiveRetryPolicy(vhost, route),
        requestMirrorPolicies: effectiveMirrorPolicies(rc, vhost, route),
        requestHeaders,
        responseHeaders,
        filters,
        clusters,
        clusterEnds,
        totalWeight,
        pathMatch,
        pathRewriter,
        test: pathMatch.screenIsTest ? allOfCtx([pathMatch.test, ...rest]) : allOfCtx(rest),
      });
    });

    const entry: CompiledVirtualHost = {
      vhost,
      routes,
      screen: new PathScreen(screens),
      rest: rests,
      requiredSlot,
      requiredHeaders,
    };
    compiled.push(entry);
    vhost.domains.forEach((d, i) => {
      const domain = asciiLower(d);
      const conflict = index.add(domain, entry);
      if (conflict === 'duplicate') {
        fail(
          vhost.name,
          undefined,
          `domains[${i}]`,
          new Error(`domain ${JSON.stringify(domain)} appears more than once`),
        );
      } else if (conflict === 'second_catch_all') {
        fail(
          vhost.name,
          undefined,
          `domains[${i}]`,
          new Error('only one virtual host may use the wildcard domain "*"'),
        );
      }
    });
  }

  return new RouteTable(rc, compiled, index, options?.random ?? defaultRandom);
}
