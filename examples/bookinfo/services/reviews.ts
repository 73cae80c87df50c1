// reviews: v1 shows no stars, v2 black stars, v3 red stars (v2 and v3 call ratings), as in
// Istio's bookinfo. BOOKINFO_FAILURE=always-503 makes this instance answer 503 to everything (the
// outlier the outlier-detection scenario ejects).
import { callService, startService } from './service.ts';

const alwaysFail = process.env['BOOKINFO_FAILURE'] === 'always-503';

await startService('reviews', ({ app, mesh, instance, version }) => {
  const color = version === 'v2' ? 'black' : version === 'v3' ? 'red' : undefined;
  app.get('/reviews/:id', async (req, res) => {
    if (alwaysFail) {
      res.status(503).json({ error: 'reviews instance is failing (demo)', instance });
      return;
    }
    const id = Number(req.params['id']);
    const reviews: { reviewer: string; text: string; rating?: unknown }[] = [
      {
        reviewer: 'Reviewer1',
        text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!',
      },
      {
        reviewer: 'Reviewer2',
        text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.',
      },
    ];
    let ratings: Record<string, unknown> | undefined;
    if (color !== undefined) {
      const r = await callService(mesh, `http://ratings:9080/ratings/${id}`, req);
      const body = (typeof r.body === 'object' && r.body !== null ? r.body : {}) as {
        ratings?: Record<string, number>;
        instance?: string;
        attempt?: number;
      };
      ratings = { status: r.status, flags: r.flags, ms: r.ms, instance: body.instance, attempt: body.attempt };
      for (const review of reviews) {
        const stars = r.ok ? body.ratings?.[review.reviewer] : undefined;
        review.rating = stars === undefined ? { error: 'ratings unavailable' } : { stars, color };
      }
    }
    res.json({ id, version, instance, podname: mesh.nodeId.split('~')[2], reviews, ratings });
  });
});
