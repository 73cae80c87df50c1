// productpage: the client. GET /productpage calls reviews through the mesh with
// mesh.fetch('http://reviews:9080/...'): the control plane's routes, clusters and endpoints
// decide where it goes. Its telemetry reports those calls (istio_requests_total with
// reporter="source") and prints, per call, a CLIENT span for the request and one per attempt,
// children of the SERVER span of the page (mesh.express() makes it the active span).
import { trace } from '@opentelemetry/api';
import express from 'express';
import { Inboard } from 'inboard';
import { serve } from './serve.ts';
import { startTelemetry } from './telemetry.ts';

const mesh = await Inboard.start({ node: { app: 'productpage', version: 'v1' } });
const otel = await startTelemetry(mesh);

const app = express();
app.use(mesh.express());
app.get('/productpage', async (_req, res) => {
  const reviews = await mesh.fetch('http://reviews:9080/reviews/1', { signal: AbortSignal.timeout(10_000) });
  res.status(reviews.ok ? 200 : 502).json({
    product: 'The Comedy of Errors',
    reviews: reviews.ok ? await reviews.json() : { status: reviews.status, error: await reviews.text() },
    traceId: trace.getActiveSpan()?.spanContext().traceId,
  });
});

await serve('productpage', app, mesh, otel);
