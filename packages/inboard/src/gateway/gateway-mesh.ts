// The gateway's outbound mesh: the same dispatcher as a sidecar's, except that what it routes
// is named by listener (`0.0.0.0_<port>`, istiod's gateway listener) instead of by the URL's
// host. Each gateway port gets a synthetic origin whose target is that listener; the incoming
// Host header stays on the request, so virtual hosts and routes match on it.
import { type OriginInfo, OutboundMesh, type OutboundMeshOptions } from '@inboard/http';

/** istiod's name of the listener of a gateway server port. */
export function gatewayListenerName(port: number): string {
  return `0.0.0.0_${port}`;
}

/** The gateway port of a listener name, or undefined for other listeners. */
export function gatewayPortOf(listenerName: string): number | undefined {
  const m = /^0\.0\.0\.0_(\d{1,5})$/.exec(listenerName);
  if (m === null) return undefined;
  const port = Number(m[1]);
  return port > 0 && port <= 65535 ? port : undefined;
}

export class GatewayMesh extends OutboundMesh {
  readonly #listenerOrigins = new Map<string, OriginInfo>();

  constructor(options: OutboundMeshOptions) {
    // Nothing a gateway dispatches may leak out as a plain request to the synthetic host. A
    // gateway follows its listeners for good, as an Envoy gateway holds every listener pushed to
    // it: a port that saw no traffic for a while keeps its config current instead of being
    // released and resolved again by the next request.
    super({ idleTimeoutMs: 0, ...options, unknownHosts: 'reject' });
  }

  /** The dispatch origin whose requests are routed by the gateway listener of `port`. */
  listenerOrigin(port: number): string {
    const hostname = `gateway-${port}.inboard.invalid`;
    const origin = `http://${hostname}`;
    if (!this.#listenerOrigins.has(origin)) {
      this.#listenerOrigins.set(origin, {
        // upstream connections are plain HTTP (or mesh mTLS from the cluster), whatever the client used
        scheme: 'http',
        authority: hostname,
        hostname,
        target: this.target(gatewayListenerName(port)),
      });
    }
    return origin;
  }

  override lookup(origin: string | URL | undefined): OriginInfo | undefined {
    if (origin !== undefined) {
      const key = typeof origin === 'string' ? origin : origin.origin;
      const hit = this.#listenerOrigins.get(key);
      if (hit !== undefined) {
        if (this.find(hit.target.key) === hit.target) return hit;
        // released for being idle (an idle timeout was given): resolve the listener again, as the
        // next request to a host does, instead of routing on the closed target's last snapshot
        const fresh: OriginInfo = { ...hit, target: this.target(hit.target.key) };
        this.#listenerOrigins.set(key, fresh);
        return fresh;
      }
    }
    return super.lookup(origin);
  }
}
