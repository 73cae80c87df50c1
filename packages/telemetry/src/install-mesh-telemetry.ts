// installMeshTelemetry: subscribes to the data plane's diagnostics channels and turns every
// finished request into Istio's standard metrics, the OpenTelemetry HTTP metrics, spans and (when
// asked) an access log line. Meters and tracers come from @opentelemetry/api: the providers passed
// in, else the globally registered ones, so an application's own SDK setup receives everything.
//
//   const telemetry = installMeshTelemetry({ mesh, meterProvider, tracerProvider });
//   ...
//   telemetry.close();
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  firstHeaderValue,
  type HttpRequestEvent,
  INBOUND_CHANNEL,
  type InboundRequestEvent,
  isGrpcContentType,
  type OutboundMesh,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  REQUEST_CHANNEL,
  registerInboundScope,
  setInboundMetadataExchange,
} from '@inboard/http';
import { type BootstrapNode, createLogger, type Xds } from '@inboard/xds';
import { type MeterProvider, metrics, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  type AccessLogOptions,
  AccessLogWriter,
  inboundAccessLogRecord,
  outboundAccessLogRecord,
} from './access-log.ts';
import {
  ATTEMPT_END_CHANNEL,
  ATTEMPT_START_CHANNEL,
  type AttemptEvent,
  REQUEST_START_CHANNEL,
  type RequestStartEvent,
} from './dispatch-hooks.ts';
import { HttpMetrics, type HttpMetricsMode } from './http-metrics.ts';
import type { HttpStats } from './http-stats.ts';
import { InboundLabeler } from './inbound-labels.ts';
import { InboundTracing } from './inbound-tracing.ts';
import { UNKNOWN } from './istio-labels.ts';
import { type IstioMetricsMode, IstioRecorder } from './istio-metrics.ts';
import type { IstioStats } from './istio-stats.ts';
import { type LocalWorkload, localWorkload } from './local-workload.ts';
import { NativeTracer } from './native-tracer.ts';
import { OutboundLabeler } from './outbound-labels.ts';
import { OutboundTracing, type PropagationMode } from './outbound-tracing.ts';
import { peerMetadataHeaders } from './peer-metadata.ts';
import { TelemetryOptionsError } from './telemetry-errors.ts';
import { TELEMETRY_SCOPE, TELEMETRY_VERSION } from './version.ts';

const log = createLogger('telemetry');

export interface TracingOptions {
  /**
   * 'auto' (default): write traceparent on each attempt unless another instrumentation injects
   * into undici requests; 'always'; 'never' (spans only).
   */
  readonly propagation?: PropagationMode;
  /** also write B3 multi headers (x-b3-*), as Envoy's Zipkin tracer does (default false) */
  readonly b3?: boolean;
  /**
   * Record the mesh's spans natively and hand them, ended, to these processors (e.g. the
   * BatchSpanProcessor your TracerProvider exports through) instead of creating them with the
   * SDK's Tracer: a fraction of the cost per span. Needs `resource`. The tracerProvider is then
   * not used for the mesh's own spans; spans the application starts inside an inbound request
   * are still its own tracer's, children of the mesh's SERVER span.
   */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** the Resource the native spans carry (the one your TracerProvider uses) */
  readonly resource?: Resource;
  /** the native spans' sampler (default: parent-based, always on at the root, like the SDK's default) */
  readonly sampler?: Sampler;
}

export interface MeshTelemetryOptions {
  /** the outbound mesh: its requests are observed, its xDS state labels the peers */
  readonly mesh?: OutboundMesh;
  /** where the node identity comes from when there is no mesh (an inbound-only server) */
  readonly xds?: Xds;
  /** the node identity, if neither mesh nor xds is given */
  readonly node?: BootstrapNode;
  /** observe outbound requests (default true) */
  readonly outbound?: boolean;
  /** observe inbound requests of servers with the inbound engine (default true) */
  readonly inbound?: boolean;
  /** default: the global MeterProvider of @opentelemetry/api */
  readonly meterProvider?: MeterProvider;
  /** default: the global TracerProvider of @opentelemetry/api */
  readonly tracerProvider?: TracerProvider;
  /**
   * Istio's standard metrics: 'meter' (default) records OTel instruments on the MeterProvider;
   * 'native' aggregates in-process (telemetry.istioStats: scrape text and an OTel MetricProducer);
   * 'both'; false: none.
   */
  readonly istioMetrics?: IstioMetricsMode | false;
  /** the IstioStats to aggregate into ('native' / 'both'); a new one by default */
  readonly istioStats?: IstioStats;
  /**
   * http.client.request.duration / http.server.request.duration: true or 'meter' (default)
   * records them on the MeterProvider; 'native' aggregates in-process (telemetry.httpStats, an
   * OTel MetricProducer for the reader: no attribute hashing per request); false: none.
   */
  readonly httpMetrics?: boolean | HttpMetricsMode;
  /** the HttpStats to aggregate into ('native'); a new one by default */
  readonly httpStats?: HttpStats;
  /** spans and trace propagation (default true); false: no spans */
  readonly tracing?: boolean | TracingOptions;
  /** access logs in Istio's formats, to a stream and/or as OpenTelemetry log records; off unless given */
  readonly accessLog?: AccessLogOptions;
  /**
   * Istio's HTTP metadata exchange (default true): requests through the mesh carry
   * x-envoy-peer-metadata(-id) naming this workload, so servers (Envoy sidecars or Inboard) label
   * their reporter=destination metrics with it. Inbound, the caller's headers are always read.
   */
  readonly metadataExchange?: boolean;
  /** SPIFFE trust domain for this workload's principal (default cluster.local) */
  readonly trustDomain?: string;
}

export interface MeshTelemetry {
  /** this workload, as the labels name it */
  readonly local: LocalWorkload;
  /** the in-process Istio metrics ('native' / 'both'), undefined otherwise */
  readonly istioStats: IstioStats | undefined;
  /** the in-process HTTP duration metrics (httpMetrics: 'native'), undefined otherwise */
  readonly httpStats: HttpStats | undefined;
  readonly mesh: OutboundMesh | undefined;
  /** unsubscribes everything; recorded data stays */
  close(): void;
}

const UNKNOWN_WORKLOAD: LocalWorkload = {
  workload: UNKNOWN,
  namespace: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: 'latest',
  cluster: UNKNOWN,
  principal: undefined,
  dnsDomain: undefined,
  meshId: undefined,
};

/** istio_stats' request_protocol: gRPC as Envoy tells it (gRPC-Web is HTTP). */
function isGrpc(start: RequestStartEvent | undefined): boolean {
  return start !== undefined && isGrpcContentType(firstHeaderValue(start.headers['content-type']));
}

/** A subscriber that never throws into the data plane (diagnostics_channel rethrows asynchronously). */
function guarded<T>(what: string, f: (e: T) => void): (msg: unknown) => void {
  return (msg) => {
    try {
      f(msg as T);
    } catch (err) {
      log.error('telemetry subscriber failed', { what, error: err instanceof Error ? err.message : String(err) });
    }
  };
}

/** The tracer of the mesh's spans: native when span processors are given, else the provider's. */
function meshTracer(o: TracingOptions, provider: TracerProvider | undefined): Tracer {
  if (o.spanProcessors === undefined)
    return (provider ?? trace.getTracerProvider()).getTracer(TELEMETRY_SCOPE, TELEMETRY_VERSION);
  if (o.resource === undefined)
    throw new TelemetryOptionsError(
      'tracing.resource',
      'native spans (tracing.spanProcessors) need the Resource they describe: pass the one your TracerProvider uses',
    );
  return new NativeTracer({
    spanProcessors: o.spanProcessors,
    resource: o.resource,
    sampler: o.sampler,
    scope: { name: TELEMETRY_SCOPE, version: TELEMETRY_VERSION },
  });
}

export function installMeshTelemetry(options: MeshTelemetryOptions = {}): MeshTelemetry {
  const mesh = options.mesh;
  const node = options.node ?? mesh?.xds.bootstrap.node ?? options.xds?.bootstrap.node;
  const local = node === undefined ? UNKNOWN_WORKLOAD : localWorkload(node, { trustDomain: options.trustDomain });
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(TELEMETRY_SCOPE, TELEMETRY_VERSION);
  const istio =
    options.istioMetrics === false
      ? undefined
      : new IstioRecorder(options.istioMetrics ?? 'meter', meter, options.istioStats);
  const http =
    options.httpMetrics === false
      ? undefined
      : new HttpMetrics(meter, options.httpMetrics === 'native' ? 'native' : 'meter', options.httpStats);
  const tracingOptions =
    options.tracing === false
      ? undefined
      : options.tracing === true || options.tracing === undefined
        ? {}
        : options.tracing;
  const tracer = tracingOptions === undefined ? undefined : meshTracer(tracingOptions, options.tracerProvider);
  const accessLog = options.accessLog === undefined ? undefined : new AccessLogWriter(options.accessLog);
  const subscriptions: [string, (msg: unknown) => void][] = [];
  const unregister: (() => void)[] = [];
  const on = (channel: string, fn: (msg: unknown) => void) => {
    subscribe(channel, fn);
    subscriptions.push([channel, fn]);
  };

  // Istio's metadata exchange: every request through the mesh tells the server who calls, and an
  // inbound response tells a caller that asked who answered
  const mx = options.metadataExchange === false || node === undefined ? undefined : peerMetadataHeaders(node);

  if (options.outbound !== false) {
    const labeler = new OutboundLabeler(local, mesh);
    const tracing = tracer === undefined ? undefined : new OutboundTracing({ tracer, local, ...tracingOptions });
    const logOut = accessLog?.outbound === true ? accessLog : undefined;
    // The start event carries the request headers (gRPC detection, access log fields) and the
    // tracing state; subscribing is what makes the data plane build it.
    on(
      REQUEST_START_CHANNEL,
      guarded<RequestStartEvent>('request start', (e) => {
        if (mx !== undefined) {
          e.headers[PEER_METADATA_ID_HEADER] = mx.id;
          e.headers[PEER_METADATA_HEADER] = mx.metadata;
        }
        tracing?.onRequestStart(e);
      }),
    );
    if (tracing !== undefined) {
      on(
        ATTEMPT_START_CHANNEL,
        guarded<AttemptEvent>('attempt start', (a) => tracing.onAttemptStart(a)),
      );
      on(
        ATTEMPT_END_CHANNEL,
        guarded<AttemptEvent>('attempt end', (a) => tracing.onAttemptEnd(a)),
      );
    }
    on(
      REQUEST_CHANNEL,
      guarded<HttpRequestEvent>('request', (e) => {
        // Request mirrors are shadow traffic: Envoy's stats filter never sees them either.
        if (e.kind === 'mirror') return;
        const start = e.start;
        if (istio !== undefined)
          istio.record(labeler.labelSet(e, isGrpc(start)), e.durations.totalMs, e.bytes.sent ?? 0, e.bytes.received);
        http?.recordClient(e);
        const span = tracing?.onRequestEnd(e, start);
        logOut?.write(outboundAccessLogRecord(e, start, Date.now()), span);
      }),
    );
  }

  if (options.inbound !== false) {
    if (mx !== undefined) {
      const previous = setInboundMetadataExchange(mx);
      unregister.push(() => setInboundMetadataExchange(previous));
    }
    const labeler = new InboundLabeler(local);
    const tracing = tracer === undefined ? undefined : new InboundTracing(tracer, local);
    const logIn = accessLog?.inbound === true ? accessLog : undefined;
    // The SERVER span starts as a request is admitted and is active while the application handles
    // it; the inbound event below ends it.
    if (tracing !== undefined) unregister.push(registerInboundScope(tracing.scope));
    on(
      INBOUND_CHANNEL,
      guarded<InboundRequestEvent>('inbound', (e) => {
        if (istio !== undefined) istio.record(labeler.labelSet(e), e.durationMs, e.requestBytes, e.responseBytes);
        http?.recordServer(e);
        const span = tracing?.record(e);
        logIn?.write(inboundAccessLogRecord(e), span);
      }),
    );
  }

  let closed = false;
  return {
    local,
    istioStats: istio?.stats,
    httpStats: http?.stats,
    mesh,
    close() {
      if (closed) return;
      closed = true;
      for (const fn of unregister) fn();
      for (const [channel, fn] of subscriptions) unsubscribe(channel, fn);
    },
  };
}
