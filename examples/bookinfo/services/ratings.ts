// ratings: the stars of each review. BOOKINFO_FAIL_EVERY=N makes this instance answer every Nth
// request with 503 (a flaky instance, for the retries scenario). Each answer says which instance
// served it and which attempt it was (x-envoy-attempt-count, sent by the caller's mesh).
import { startService } from './service.ts';

const failEvery = Number(process.env['BOOKINFO_FAIL_EVERY'] ?? 0);
let served = 0;

await startService('ratings', ({ app, instance }) => {
  app.get('/ratings/:id', (req, res) => {
    served++;
    const attempt = Number(req.headers['x-envoy-attempt-count'] ?? 1);
    if (failEvery > 0 && served % failEvery === 0) {
      res.status(503).json({ error: 'ratings instance is flaky (demo)', instance, attempt });
      return;
    }
    const id = Number(req.params['id']);
    res.json({ id, ratings: { Reviewer1: 5, Reviewer2: 4 }, instance, attempt });
  });
});
