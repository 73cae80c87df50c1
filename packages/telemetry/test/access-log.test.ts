// Access log lines in Istio's default text format (field order of EnvoyTextLogFormat) and its
// JSON format (EnvoyJSONLogFormatIstio keys), for an outbound and an inbound request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpRequestEvent, InboundRequestEvent } from '@inboard/http';
import {
  formatAccessLogJson,
  formatAccessLogText,
  inboundAccessLogRecord,
  outboundAccessLogRecord,
} from '../src/index.ts';
import { httpRequestEvent } from './event-fixtures.ts';

const outbound: HttpRequestEvent = httpRequestEvent({
  path: '/reviews/1',
  routeConfig: 'outbound|9080||reviews.default.svc.cluster.local',
  virtualHost: 'reviews.default.svc.cluster.local:9080',
  cluster: 'outbound|9080||reviews.default.svc.cluster.local',
  endpoint: '10.0.0.7:9080',
  attempts: 3,
  status: 503,
  flags: ['URX', 'UF'],
  details: 'upstream_reset_before_response_started{connection_failure}',
  durations: { totalMs: 57.9, responseStartMs: 57.2 },
  bytes: { sent: 0, received: 91 },
});

const start = {
  target: 'reviews:9080',
  authority: 'reviews:9080',
  method: 'GET',
  path: '/reviews/1',
  scheme: 'http',
  headers: { 'user-agent': 'curl/8.5.0', 'x-request-id': 'abc-123' },
  startedAt: 0,
  context: undefined,
};

test('outbound, text: every field in Istio’s order, `-` for what is unknown', () => {
  const endedAt = Date.parse('2026-01-02T03:04:05.678Z');
  const line = formatAccessLogText(outboundAccessLogRecord(outbound, start, endedAt));
  assert.equal(
    line,
    '[2026-01-02T03:04:05.620Z] "GET /reviews/1 HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{connection_failure} - "-" ' +
      '0 91 57 57 "-" "curl/8.5.0" "abc-123" "reviews:9080" "10.0.0.7:9080" outbound|9080||reviews.default.svc.cluster.local ' +
      '- - - - default\n',
  );
});

const inbound: InboundRequestEvent = {
  reporter: 'destination',
  startTime: Date.parse('2026-01-02T03:04:05.000Z'),
  durationMs: 1.6,
  method: 'POST',
  path: '/admin?x=1',
  authority: 'reviews:9080',
  scheme: 'http',
  protocol: 'HTTP/1.1',
  route: undefined,
  status: 403,
  responseFlags: '-',
  responseCodeDetails: 'rbac_access_denied_matched_policy[default-deny-admin-0]',
  requestBytes: 12,
  responseBytes: 19,
  peerPrincipal: undefined,
  sourceIp: '10.0.0.9',
  sourcePort: 40123,
  destinationIp: '10.0.0.7',
  destinationPort: 9080,
  connectionSecurityPolicy: 'none',
  matchedPolicy: 'default-deny-admin-0',
  allowed: false,
  filterChain: 'inbound-plaintext',
  trace: { w3c: undefined, b3: undefined, requestId: 'rid-1' },
  userAgent: 'node',
  peerMetadata: undefined,
  peerMetadataId: undefined,
  start: undefined,
  grpc: false,
  grpcStatus: undefined,
  xForwardedFor: undefined,
  requestedServerName: undefined,
};

test('inbound, text: addresses of the connection and Istio’s inbound cluster', () => {
  assert.equal(
    formatAccessLogText(inboundAccessLogRecord(inbound)),
    '[2026-01-02T03:04:05.000Z] "POST /admin?x=1 HTTP/1.1" 403 - rbac_access_denied_matched_policy[default-deny-admin-0] - "-" ' +
      '12 19 1 - "-" "node" "rid-1" "reviews:9080" "-" inbound|9080|| - 10.0.0.7:9080 10.0.0.9:40123 - default\n',
  );
});

test('JSON: Istio’s keys, numbers for codes, sizes and durations, null when unknown', () => {
  const o = JSON.parse(formatAccessLogJson(inboundAccessLogRecord(inbound))) as Record<string, unknown>;
  assert.deepEqual(Object.keys(o).sort(), [
    'authority',
    'bytes_received',
    'bytes_sent',
    'connection_termination_details',
    'downstream_local_address',
    'downstream_remote_address',
    'duration',
    'method',
    'path',
    'protocol',
    'request_id',
    'requested_server_name',
    'response_code',
    'response_code_details',
    'response_flags',
    'route_name',
    'start_time',
    'upstream_cluster',
    'upstream_host',
    'upstream_local_address',
    'upstream_service_time',
    'upstream_transport_failure_reason',
    'user_agent',
    'x_forwarded_for',
  ]);
  assert.equal(o.response_code, 403);
  assert.equal(o.duration, 1);
  assert.equal(o.bytes_sent, 19);
  assert.equal(o.upstream_host, null);
  assert.equal(o.downstream_remote_address, '10.0.0.9:40123');
});

test('the upstream transport failure reason of the event, spaces as `_` as Envoy’s formatter writes it', () => {
  const refused = httpRequestEvent({
    status: 503,
    flags: ['UF'],
    details:
      'upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}',
    transportFailureReason: 'delayed connect error: Connection refused',
  });
  const r = outboundAccessLogRecord(refused, undefined, Date.parse('2026-01-02T03:04:05.678Z'));
  assert.equal(r.upstream_transport_failure_reason, 'delayed_connect_error:_Connection_refused');
  assert.match(
    formatAccessLogText(r),
    / UF upstream_reset_before_response_started\{remote_connection_failure\|delayed_connect_error:_Connection_refused\} - "delayed_connect_error:_Connection_refused" /,
  );
  assert.equal(outboundAccessLogRecord(httpRequestEvent({}), undefined, 0).upstream_transport_failure_reason, null);
});

test('inbound: X-Forwarded-For, the TLS SNI and the inbound route `default`, as a server sidecar logs them', () => {
  const sni = 'outbound_.9080_._.reviews.default.svc.cluster.local';
  const r = inboundAccessLogRecord({ ...inbound, xForwardedFor: '10.1.2.3', requestedServerName: sni });
  assert.equal(r.x_forwarded_for, '10.1.2.3');
  assert.equal(r.requested_server_name, sni);
  assert.equal(r.route_name, 'default');
  assert.ok(formatAccessLogText(r).endsWith(` 10.0.0.7:9080 10.0.0.9:40123 ${sni} default\n`));
});
