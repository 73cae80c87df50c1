// Telemetry hooks: typed events on node:diagnostics_channel. The data plane never imports a
// telemetry library; @inboard/telemetry (or anyone) subscribes to these channels by name. Events
// are only built when a channel has subscribers.
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ResponseFlag } from '../retry/response-flags.ts';

/** One finished outbound request through the mesh (or a request mirror). */
export const REQUEST_CHANNEL = 'inboard:http:request';
/** Outlier detection ejected or returned a host. */
export const OUTLIER_CHANNEL = 'inboard:http:outlier';

export interface HttpRequestEvent {
  /** 'request' for the caller's request, 'mirror' for a shadow copy */
  readonly kind: 'request' | 'mirror';
  /** the mesh target, `host:port` */
  readonly target: string;
  /** the :authority routed on (before any rewrite) */
  readonly authority: string;
  readonly method: string;
  /** the path as the caller sent it */
  readonly path: string;
  /** the route configuration, virtual host and route (names), when a route matched */
  readonly routeConfig: string | undefined;
  readonly virtualHost: string | undefined;
  readonly route: string | undefined;
  /** filter_metadata.istio.config of the route (the VirtualService) */
  readonly istioConfig: string | undefined;
  /** the cluster chosen by the route (a weighted cluster's name) */
  readonly cluster: string | undefined;
  /** `address:port` of the last endpoint tried */
  readonly endpoint: string | undefined;
  /** number of upstream attempts (0: answered locally) */
  readonly attempts: number;
  /** status sent to the caller; 0 when none was */
  readonly status: number;
  readonly flags: readonly ResponseFlag[];
  /** %RESPONSE_CODE_DETAILS% */
  readonly details: string;
  readonly durations: {
    /** dispatch → end of response (or failure), ms */
    readonly totalMs: number;
    /** dispatch → response headers to the caller, ms; undefined when none were sent */
    readonly responseStartMs: number | undefined;
  };
  readonly bytes: {
    /** request body bytes of one attempt (known when the body was buffered, else undefined) */
    readonly sent: number | undefined;
    /** response body bytes delivered to the caller */
    readonly received: number;
  };
  /** the error the caller's handler received, if the request failed after headers or locally */
  readonly error: Error | undefined;
}

export type OutlierChannelEvent =
  | {
      readonly type: 'eject';
      readonly cluster: string;
      readonly endpoint: string;
      readonly reason: string;
      readonly enforced: boolean;
      readonly numEjections: number;
    }
  | { readonly type: 'eject_overflow'; readonly cluster: string; readonly endpoint: string; readonly reason: string }
  | { readonly type: 'uneject'; readonly cluster: string; readonly endpoint: string; readonly numEjections: number };

export const requestChannel = diagnosticsChannel.channel(REQUEST_CHANNEL);
export const outlierChannel = diagnosticsChannel.channel(OUTLIER_CHANNEL);
