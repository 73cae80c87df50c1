// The OpenTelemetry HTTP semantic-convention metrics: http.client.request.duration for requests
// through the mesh (logical server.address / server.port, not the endpoint's) and
// http.server.request.duration for inbound ones; seconds, with the conventions' bucket advice.
// Attribute objects are reused per distinct value combination.
import type { HttpRequestEvent, InboundRequestEvent } from '@inboard/http';
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { HTTP_DURATION_BUCKETS_S } from './histogram-buckets.ts';
import { semconvMethod, splitAuthority } from './http-method.ts';
import {
  HTTP_CLIENT_DESCRIPTION,
  HTTP_CLIENT_REQUEST_DURATION,
  HTTP_SERVER_DESCRIPTION,
  HTTP_SERVER_REQUEST_DURATION,
  HttpStats,
} from './http-stats.ts';

export { HTTP_CLIENT_REQUEST_DURATION, HTTP_SERVER_REQUEST_DURATION } from './http-stats.ts';

const MAX_CACHED = 10_000;

/** error.type of a finished request: the status when it is an error, else the error's code or class. */
export function errorType(status: number, error: Error | undefined, errorFrom: number): string | undefined {
  if (status >= errorFrom) return String(status);
  if (status !== 0) return undefined;
  if (error === undefined) return '_OTHER';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : error.name;
}

function portOf(target: string): number | undefined {
  return splitAuthority(target)[1];
}

export type HttpMetricsMode = 'meter' | 'native';

export class HttpMetrics {
  readonly #client: Histogram | undefined;
  readonly #server: Histogram | undefined;
  /** 'native': the in-process aggregate the histograms go to instead of the meter */
  readonly stats: HttpStats | undefined;
  readonly #clientAttrs = new Map<string, Map<string, Map<string, Map<number | string, Attributes>>>>();
  #clientCount = 0;
  // the last request's key and attributes: consecutive requests mostly share them
  #lastAuthority: string | undefined = undefined;
  #lastTarget: string | undefined = undefined;
  #lastMethod: string | undefined = undefined;
  #lastKey: number | string | undefined = undefined;
  #lastAttrs: Attributes | undefined = undefined;
  readonly #serverAttrs = new Map<string, Attributes>();

  constructor(meter: Meter, mode: HttpMetricsMode = 'meter', stats?: HttpStats) {
    if (mode === 'native') {
      this.stats = stats ?? new HttpStats();
      return;
    }
    const advice = { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS_S] };
    this.#client = meter.createHistogram(HTTP_CLIENT_REQUEST_DURATION, {
      description: HTTP_CLIENT_DESCRIPTION,
      unit: 's',
      valueType: ValueType.DOUBLE,
      advice,
    });
    this.#server = meter.createHistogram(HTTP_SERVER_REQUEST_DURATION, {
      description: HTTP_SERVER_DESCRIPTION,
      unit: 's',
      valueType: ValueType.DOUBLE,
      advice,
    });
  }

  recordClient(e: HttpRequestEvent): void {
    const err = e.status >= 400 || e.status === 0 ? errorType(e.status, e.error, 400) : undefined;
    const key = e.status > 0 ? e.status : `0|${err}`;
    let a = this.#lastAttrs;
    if (
      a === undefined ||
      key !== this.#lastKey ||
      e.authority !== this.#lastAuthority ||
      e.target !== this.#lastTarget ||
      e.method !== this.#lastMethod
    ) {
      a = this.#clientAttributes(e, key, err);
      this.#lastAuthority = e.authority;
      this.#lastTarget = e.target;
      this.#lastMethod = e.method;
      this.#lastKey = key;
      this.#lastAttrs = a;
    }
    if (this.stats !== undefined) this.stats.recordClient(a, e.durations.totalMs / 1000);
    else this.#client!.record(e.durations.totalMs / 1000, a);
  }

  #clientAttributes(e: HttpRequestEvent, key: number | string, err: string | undefined): Attributes {
    // authority → target → method → status (or status + error type when none was sent): the
    // event's own strings key nested maps, so no key string is built per request
    let byTarget = this.#clientAttrs.get(e.authority);
    if (byTarget === undefined) this.#clientAttrs.set(e.authority, (byTarget = new Map()));
    let byMethod = byTarget.get(e.target);
    if (byMethod === undefined) byTarget.set(e.target, (byMethod = new Map()));
    let byStatus = byMethod.get(e.method);
    if (byStatus === undefined) byMethod.set(e.method, (byStatus = new Map()));
    let a = byStatus.get(key);
    if (a === undefined) {
      if (this.#clientCount >= MAX_CACHED) {
        this.#clientAttrs.clear();
        this.#clientCount = 0;
      }
      const [host, port] = splitAuthority(e.authority);
      const attrs: Record<string, string | number> = {
        'http.request.method': semconvMethod(e.method),
        'server.address': host,
      };
      const p = port ?? portOf(e.target);
      if (p !== undefined) attrs['server.port'] = p;
      if (e.status > 0) attrs['http.response.status_code'] = e.status;
      if (err !== undefined) attrs['error.type'] = err;
      a = Object.freeze(attrs);
      byStatus.set(key, a);
      this.#clientCount++;
    }
    return a;
  }

  recordServer(e: InboundRequestEvent): void {
    const err = e.status >= 500 || e.status === 0 ? errorType(e.status, undefined, 500) : undefined;
    const key = `${e.method}\u0000${e.scheme}\u0000${e.route}\u0000${e.status}\u0000${e.protocol}`;
    let a = this.#serverAttrs.get(key);
    if (a === undefined) {
      if (this.#serverAttrs.size >= MAX_CACHED) this.#serverAttrs.clear();
      const attrs: Record<string, string | number> = {
        'http.request.method': semconvMethod(e.method),
        'url.scheme': e.scheme,
      };
      if (e.route !== undefined) attrs['http.route'] = e.route;
      if (e.status > 0) attrs['http.response.status_code'] = e.status;
      if (err !== undefined) attrs['error.type'] = e.status === 0 ? e.responseFlags : err;
      const version = e.protocol.startsWith('HTTP/') ? e.protocol.slice(5) : undefined;
      if (version !== undefined) attrs['network.protocol.version'] = version;
      a = Object.freeze(attrs);
      this.#serverAttrs.set(key, a);
    }
    if (this.stats !== undefined) this.stats.recordServer(a, e.durationMs / 1000);
    else this.#server!.record(e.durationMs / 1000, a);
  }
}
