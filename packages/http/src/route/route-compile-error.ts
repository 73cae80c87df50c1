// The error compileRouteTable throws when a RouteConfiguration cannot become a RouteTable.
// The caller keeps serving the previous table (as Envoy keeps its last good config).
import { InboardError } from '@inboard/xds';

export class RouteCompileError extends InboardError {
  readonly routeConfig: string;
  /** the virtual host's name, or undefined for route-configuration-level fields */
  readonly virtualHost: string | undefined;
  /** index into VirtualHost.routes, or undefined for vhost- or config-level fields */
  readonly routeIndex: number | undefined;
  /** model path of the offending field, e.g. `match.headers[1]` or `domains[0]` */
  readonly field: string;
  constructor(
    routeConfig: string,
    virtualHost: string | undefined,
    routeIndex: number | undefined,
    field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    const where = [`route configuration ${JSON.stringify(routeConfig)}`];
    if (virtualHost !== undefined) where.push(`virtual host ${JSON.stringify(virtualHost)}`);
    if (routeIndex !== undefined) where.push(`routes[${routeIndex}]`);
    where.push(field);
    super('INBOARD_ROUTE_COMPILE', `${where.join(': ')}: ${message}`, options);
    this.routeConfig = routeConfig;
    this.virtualHost = virtualHost;
    this.routeIndex = routeIndex;
    this.field = field;
  }
}

/** A pattern that RE2 rejects. Thrown by the low-level compilers; callers add where it came from. */
export class Re2SyntaxError extends InboardError {
  readonly pattern: string;
  constructor(pattern: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('INBOARD_RE2_SYNTAX', `invalid RE2 pattern ${JSON.stringify(pattern)}: ${detail}`, { cause });
    this.pattern = pattern;
  }
}
