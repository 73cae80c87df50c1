// productpage: the page a user sees. It calls details and reviews through the mesh (plain
// mesh.fetch to http://details:9080 and http://reviews:9080) and shows which reviews version
// answered and its stars; when a service fails the page degrades ("ratings unavailable",
// "reviews unavailable") instead of failing. JSON for `Accept: application/json`, else HTML.
//
// The user is the `user` cookie set by /login (or an `end-user` header); it travels to reviews
// and ratings as `end-user`, which the scenarios' VirtualServices match on.
import type { Request, Response } from 'express';
import express from 'express';
import { callService, startService } from './service.ts';

const PRODUCTS = [{ id: 0, title: 'The Comedy of Errors', descriptionHtml: 'A <i>Shakespeare</i> comedy' }];

function userOf(req: Request): string | undefined {
  const cookie = req.headers.cookie ?? '';
  const m = /(?:^|;\s*)user=([^;]*)/.exec(cookie);
  if (m?.[1] !== undefined && m[1] !== '') return decodeURIComponent(m[1]);
  const h = req.headers['end-user'];
  return typeof h === 'string' && h !== '' ? h : undefined;
}

interface Review {
  reviewer: string;
  text: string;
  rating?: { stars?: number; color?: string; error?: string };
}

function stars(r: Review): string {
  if (r.rating === undefined) return '';
  if (r.rating.error !== undefined) return `<em>${r.rating.error}</em>`;
  return `<span style="color:${r.rating.color}">${'★'.repeat(r.rating.stars ?? 0)}${'☆'.repeat(5 - (r.rating.stars ?? 0))}</span>`;
}

function html(page: Record<string, unknown>): string {
  const reviews = page['reviews'] as { version?: string; reviews?: Review[]; error?: string };
  const details = page['details'] as Record<string, unknown>;
  const items =
    reviews.error !== undefined
      ? `<p><em>${reviews.error}</em></p>`
      : (reviews.reviews ?? [])
          .map((r) => `<blockquote>${r.text}<br><small>— ${r.reviewer} ${stars(r)}</small></blockquote>`)
          .join('');
  return `<!doctype html><html><head><title>Bookinfo</title><link rel="stylesheet" href="/static/bookinfo.css"></head><body>
<p>${page['user'] === null ? '<a href="/login?user=jason">sign in as jason</a>' : `signed in as ${page['user']} · <a href="/logout">sign out</a>`}</p>
<h1>${PRODUCTS[0]!.title}</h1><p>${PRODUCTS[0]!.descriptionHtml}</p>
<h2>Details</h2><pre>${details['error'] ?? JSON.stringify(details, null, 1)}</pre>
<h2>Reviews ${reviews.version === undefined ? '' : `(reviews-${reviews.version})`}</h2>${items}
</body></html>`;
}

await startService('productpage', ({ app, mesh, instance }) => {
  app.use(express.urlencoded({ extended: false }));

  app.get('/productpage', async (req: Request, res: Response) => {
    const user = userOf(req);
    const asUser: Record<string, string> = user === undefined ? {} : { 'end-user': user };
    const [details, reviews] = await Promise.all([
      callService(mesh, 'http://details:9080/details/0', req, asUser),
      callService(mesh, 'http://reviews:9080/reviews/0', req, asUser),
    ]);
    const page = {
      product: PRODUCTS[0],
      user: user ?? null,
      instance,
      details: details.ok
        ? details.body
        : { error: 'details unavailable', status: details.status, flags: details.flags },
      reviews: reviews.ok
        ? reviews.body
        : { error: 'reviews unavailable', status: reviews.status, flags: reviews.flags, body: reviews.body },
    };
    if (req.accepts(['html', 'json']) === 'json') res.json(page);
    else res.type('html').send(html(page));
  });

  app.get('/static/*path', (_req, res) => {
    res.type('css').send('body { font-family: sans-serif; max-width: 50em; margin: auto; }\n');
  });

  const login = (req: Request, res: Response) => {
    const user = String((req.body as Record<string, unknown> | undefined)?.['username'] ?? req.query['user'] ?? '');
    if (user === '') {
      res.status(400).json({ error: 'username required' });
      return;
    }
    res.cookie('user', user, { path: '/' }).redirect(302, '/productpage');
  };
  app.get('/login', login);
  app.post('/login', login);
  app.get('/logout', (_req, res) => {
    res.clearCookie('user', { path: '/' }).redirect(302, '/productpage');
  });

  app.get('/api/v1/products', (_req, res) => {
    res.json(PRODUCTS.map(({ id, title, descriptionHtml }) => ({ id, title, descriptionHtml })));
  });
  app.get('/api/v1/products/:id', (req, res) => {
    const p = PRODUCTS.find((x) => String(x.id) === req.params['id']);
    if (p === undefined) res.status(404).json({ error: 'Product not found' });
    else res.json(p);
  });
  app.get('/api/v1/products/:id/reviews', async (req, res) => {
    const r = await callService(mesh, `http://reviews:9080/reviews/${Number(req.params['id'])}`, req);
    res
      .status(r.ok ? 200 : 503)
      .json(r.ok ? r.body : { error: 'Sorry, product reviews are currently unavailable for this book.' });
  });
  app.get('/api/v1/products/:id/ratings', async (req, res) => {
    const r = await callService(mesh, `http://ratings:9080/ratings/${Number(req.params['id'])}`, req);
    res
      .status(r.ok ? 200 : 503)
      .json(r.ok ? r.body : { error: 'Sorry, product ratings are currently unavailable for this book.' });
  });

  // What this instance's mesh routes `target` with right now (not exposed by the gateway's
  // routes): the demo polls it to know a pushed DestinationRule is in force.
  app.get('/debug/mesh', async (req, res) => {
    const target = String(req.query['target'] ?? 'reviews:9080');
    await mesh.ready(target);
    const snap = mesh.snapshot(target);
    if (snap === undefined) {
      res.status(404).json({ target, error: 'not in the mesh' });
      return;
    }
    res.json({
      target,
      routes: snap.routeConfig.virtualHosts.flatMap((vh) => vh.routes.map((r) => r.name)),
      clusters: Object.fromEntries(
        [...snap.clusters].map(([name, c]) => [
          name,
          c.status === 'ok'
            ? {
                outlierDetection: c.cluster.outlierDetection !== undefined,
                endpoints: c.endpoints?.endpoints.reduce((n, l) => n + l.lbEndpoints.length, 0) ?? 0,
              }
            : { status: c.status },
        ]),
      ),
    });
  });
});
