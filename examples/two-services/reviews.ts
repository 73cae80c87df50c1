// reviews: the server. Express behind the mesh's inbound policy (mesh.express(): the
// AuthorizationPolicy and PeerAuthentication istiod — here the embedded control plane — sends for
// this workload). Its telemetry reports the requests it serves (istio_requests_total with
// reporter="destination") and prints a SERVER span per request, in the caller's trace.
import { trace } from '@opentelemetry/api';
import express from 'express';
import { Inboard } from 'inboard';
import { serve } from './serve.ts';
import { startTelemetry } from './telemetry.ts';

const mesh = await Inboard.start({ node: { app: 'reviews', version: 'v1' } });
const otel = await startTelemetry(mesh);
const tracer = trace.getTracer('reviews');

const app = express();
app.use(mesh.express());
app.get('/reviews/:id', (req, res) => {
  // The mesh's SERVER span is active here, so this span is its child, in productpage's trace.
  tracer.startActiveSpan('load reviews', (span) => {
    const reviews = [
      { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare.' },
      { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining.' },
    ];
    span.setAttribute('reviews.count', reviews.length);
    span.end();
    res.json({ id: req.params.id, reviews, traceId: span.spanContext().traceId });
  });
});

await serve('reviews', app, mesh, otel);
