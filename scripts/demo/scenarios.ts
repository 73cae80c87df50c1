// The tour: each scenario applies Istio YAML from examples/bookinfo/scenarios to the running
// mesh, waits until the gateway's answers show that the push is in force (a bounded loop on
// observable answers, never a fixed sleep), sends traffic, and compares what users saw with
// what the YAML says should happen.
import { allCheck, type Check, check, count, ms, noneCheck, quantile, shareCheck } from './report.ts';
import { type GatewayClient, type PageResult, reviewsOf, starsOf } from './traffic.ts';

export interface Sizes {
  /** page loads per weighted split */
  readonly split: number;
  /** page loads per user group in deterministic scenarios */
  readonly small: number;
  /** delayed page loads (sent together) */
  readonly delayed: number;
  /** sequential page loads against the flaky ratings instance, per phase */
  readonly flaky: number;
  readonly concurrency: number;
}

export interface InstanceStats {
  readonly requests: number;
  readonly failures: number;
}

export interface TourContext {
  readonly client: GatewayClient;
  readonly sizes: Sizes;
  /** applies a scenario file of examples/bookinfo/scenarios (undefined: back to the bookinfo config) */
  apply(file: string | undefined): void;
  /** adds (or removes) the reviews v1 instance that always answers 503 to the registry */
  setFailingReviews(present: boolean): void;
  /** polls `probe` until it holds; resolves with the time it took, rejects after the timeout */
  until(what: string, probe: () => Promise<boolean>): Promise<number>;
  /** the request counters of one instance, read from it directly */
  stats(instance: string): Promise<InstanceStats>;
  /** productpage's view of a target (its /debug/mesh) */
  meshView(target: string): Promise<MeshView>;
  /** page loads with a progress display */
  pages(n: number, options?: { user?: string; concurrency?: number }): Promise<PageResult[]>;
  note(text: string): void;
}

export interface MeshView {
  readonly routes?: readonly string[];
  readonly clusters?: Readonly<Record<string, { outlierDetection?: boolean; endpoints?: number; status?: string }>>;
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: TourContext): Promise<Check[]>;
}

const JASON = 'jason';
const DELAY_MS = 1000;
const REVIEWS_V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';

const versions = (pages: readonly PageResult[], v: string) => count(pages, (p) => reviewsOf(p) === v);
const ok = (pages: readonly PageResult[]) => count(pages, (p) => p.status === 200);

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'ingress-gateway',
    title: 'Ingress gateway: the bookinfo Gateway and VirtualService route the product page paths',
    async run(ctx) {
      const { client } = ctx;
      const pages = await ctx.pages(ctx.sizes.small, { concurrency: ctx.sizes.concurrency });
      const css = await client.get('/static/bookinfo.css');
      const login = await client.get(`/login?user=${JASON}`);
      const logout = await client.get('/logout');
      const api = await client.get('/api/v1/products');
      const otherHost = await client.get('/productpage', { host: 'bookinfo.example.com', accept: 'application/json' });
      const nope = await client.get('/reviews/0');
      const flags = nope.headers.get('x-inboard-response-flags') ?? '-';
      return [
        allCheck('GET /productpage → 200', ok(pages), pages.length),
        allCheck(
          'reviews v1 (no stars), as all-v1 says',
          count(pages, (p) => reviewsOf(p) === 'v1' && starsOf(p) === 'none'),
          pages.length,
        ),
        allCheck(
          'details shown',
          count(pages, (p) => p.page?.details.instance !== undefined),
          pages.length,
        ),
        check('GET /static/bookinfo.css (prefix /static)', '200', String(css.status), css.status === 200),
        check(
          'GET /login (exact) signs in',
          '302 + cookie user=jason',
          `${login.status}${login.headers.get('set-cookie')?.includes('user=jason') ? ' + cookie user=jason' : ''}`,
          login.status === 302 && login.headers.get('set-cookie')?.includes('user=jason') === true,
        ),
        check('GET /logout (exact)', '302', String(logout.status), logout.status === 302),
        check('GET /api/v1/products (prefix)', '200', String(api.status), api.status === 200),
        check('Host bookinfo.example.com (hosts "*")', '200', String(otherHost.status), otherHost.status === 200),
        check('GET /reviews/0 (no route)', '404 NR', `${nope.status} ${flags}`, nope.status === 404 && flags === 'NR'),
      ];
    },
  },
  {
    id: 'header-routing',
    title: 'Header routing: the user jason goes to reviews v2, everyone else to v1',
    async run(ctx) {
      ctx.apply('01-header-routing.yaml');
      await ctx.until('jason sees reviews v2', async () => reviewsOf(await ctx.client.page(JASON)) === 'v2');
      const jason = await ctx.pages(ctx.sizes.small, { user: JASON, concurrency: ctx.sizes.concurrency });
      const others = await ctx.pages(ctx.sizes.small, { concurrency: ctx.sizes.concurrency });
      return [
        allCheck('jason → reviews v2', versions(jason, 'v2'), jason.length),
        allCheck(
          'jason sees black stars',
          count(jason, (p) => starsOf(p) === 'black'),
          jason.length,
        ),
        allCheck('anonymous → reviews v1', versions(others, 'v1'), others.length),
        allCheck(
          'anonymous sees no stars',
          count(others, (p) => starsOf(p) === 'none'),
          others.length,
        ),
      ];
    },
  },
  {
    id: 'traffic-shift-50-50',
    title: 'Traffic shifting: 50 % of reviews traffic to v3, 50 % to v1',
    async run(ctx) {
      ctx.apply('02-traffic-shift-50-50.yaml');
      await ctx.until('reviews v3 answers', async () => reviewsOf(await ctx.client.page()) === 'v3');
      const pages = await ctx.pages(ctx.sizes.split, { concurrency: ctx.sizes.concurrency });
      const v3 = pages.filter((p) => reviewsOf(p) === 'v3');
      return [
        shareCheck('reviews v1', versions(pages, 'v1'), pages.length, 0.5),
        shareCheck('reviews v3', v3.length, pages.length, 0.5),
        noneCheck('reviews v2', versions(pages, 'v2'), pages.length),
        allCheck(
          'v3 pages show red stars',
          count(v3, (p) => starsOf(p) === 'red'),
          v3.length,
        ),
      ];
    },
  },
  {
    id: 'traffic-shift-80-20',
    title: 'Traffic shifting: a canary, 20 % of reviews traffic to v2',
    async run(ctx) {
      ctx.apply('03-traffic-shift-80-20.yaml');
      await ctx.until('reviews v2 answers', async () => reviewsOf(await ctx.client.page()) === 'v2');
      const pages = await ctx.pages(ctx.sizes.split, { concurrency: ctx.sizes.concurrency });
      return [
        shareCheck('reviews v1', versions(pages, 'v1'), pages.length, 0.8),
        shareCheck('reviews v2', versions(pages, 'v2'), pages.length, 0.2),
        noneCheck('reviews v3', versions(pages, 'v3'), pages.length),
      ];
    },
  },
  {
    id: 'fault-delay',
    title: "Fault injection: jason's calls to ratings are delayed by 1 s",
    async run(ctx) {
      ctx.apply('04-ratings-delay.yaml');
      await ctx.until('jason is delayed', async () => {
        const p = await ctx.client.page(JASON);
        return reviewsOf(p) === 'v2' && p.ms >= DELAY_MS * 0.95;
      });
      const jason = await ctx.pages(ctx.sizes.delayed, { user: JASON, concurrency: ctx.sizes.delayed });
      const others = await ctx.pages(ctx.sizes.small, { concurrency: ctx.sizes.concurrency });
      const jasonMin = Math.min(...jason.map((p) => p.ms));
      const othersMedian = quantile(
        others.map((p) => p.ms),
        0.5,
      );
      return [
        check('jason: page latency (min)', `≥ ${DELAY_MS} ms`, ms(jasonMin), jasonMin >= DELAY_MS * 0.95),
        allCheck(
          'jason: ratings still shown (black stars)',
          count(jason, (p) => starsOf(p) === 'black'),
          jason.length,
        ),
        check(
          'anonymous: page latency (median)',
          `< ${DELAY_MS / 2} ms`,
          ms(othersMedian),
          othersMedian < DELAY_MS / 2,
        ),
        allCheck('anonymous → reviews v1', versions(others, 'v1'), others.length),
      ];
    },
  },
  {
    id: 'fault-abort',
    title: "Fault injection: jason's calls to ratings fail with HTTP 500",
    async run(ctx) {
      ctx.apply('05-ratings-abort.yaml');
      await ctx.until(
        'jason sees "ratings unavailable"',
        async () => starsOf(await ctx.client.page(JASON)) === 'unavailable',
      );
      const jason = await ctx.pages(ctx.sizes.small, { user: JASON, concurrency: ctx.sizes.concurrency });
      const others = await ctx.pages(ctx.sizes.small, { concurrency: ctx.sizes.concurrency });
      const aborted = count(jason, (p) => {
        const r = p.page?.reviews.ratings;
        return r?.status === 500 && r.flags.includes('FI');
      });
      return [
        allCheck('jason: page still renders (HTTP 200)', ok(jason), jason.length),
        allCheck(
          'jason: "ratings unavailable"',
          count(jason, (p) => starsOf(p) === 'unavailable'),
          jason.length,
        ),
        allCheck('jason: ratings call answered 500, flag FI', aborted, jason.length),
        allCheck('anonymous → reviews v1, unaffected', versions(others, 'v1'), others.length),
      ];
    },
  },
  {
    id: 'retries',
    title: 'Retries: a ratings instance failing 1 request in 3, without and then with retries',
    async run(ctx) {
      const n = ctx.sizes.flaky;
      ctx.apply('06-ratings-flaky.yaml');
      await ctx.until('ratings v2 (flaky) answers', async () => {
        const p = await ctx.client.page();
        return reviewsOf(p) === 'v2' && p.page?.reviews.ratings?.instance === 'ratings-v2';
      });
      // Sequential page loads: one ratings call each, so the flaky instance's 1-in-3 is exact.
      const before = await ctx.stats('ratings-v2');
      const plain = await ctx.pages(n);
      const mid = await ctx.stats('ratings-v2');
      const unavailable = count(plain, (p) => starsOf(p) === 'unavailable');
      ctx.note(
        `without retries: ratings-v2 served ${mid.requests - before.requests}, failed ${mid.failures - before.failures}`,
      );

      ctx.apply('07-ratings-retries.yaml');
      await ctx.until(
        'a failed ratings call is retried',
        async () => (await ctx.client.page()).page?.reviews.ratings?.attempt === 2,
      );
      const start = await ctx.stats('ratings-v2');
      const retried = await ctx.pages(n);
      const end = await ctx.stats('ratings-v2');
      const absorbed = end.failures - start.failures;
      const secondAttempts = count(retried, (p) => (p.page?.reviews.ratings?.attempt ?? 1) >= 2);
      ctx.note(`with retries: ratings-v2 served ${end.requests - start.requests}, failed ${absorbed}`);
      return [
        check(
          'no retries: "ratings unavailable"',
          `1 in 3 (${Math.round(n / 3)} of ${n})`,
          `${unavailable}/${n}`,
          Math.abs(unavailable - n / 3) <= 1 && unavailable === mid.failures - before.failures,
        ),
        noneCheck(
          'retries 3 × 5xx: "ratings unavailable"',
          count(retried, (p) => starsOf(p) === 'unavailable'),
          n,
        ),
        check(
          'retries 3 × 5xx: pages saved by a retry',
          `= 503s of ratings-v2 (> 0)`,
          `${secondAttempts} (503s: ${absorbed})`,
          secondAttempts === absorbed && absorbed > 0,
        ),
      ];
    },
  },
  {
    id: 'outlier-ejection',
    title: 'Outlier detection: a reviews v1 instance answering 503 is ejected after one error',
    async run(ctx) {
      ctx.apply('08-reviews-outlier.yaml');
      await ctx.until('productpage has outlier detection for reviews v1', async () => {
        const v = await ctx.meshView('reviews:9080');
        return v.clusters?.[REVIEWS_V1]?.outlierDetection === true && reviewsOf(await ctx.client.page()) === 'v1';
      });
      const before = await ctx.stats('reviews-v1-bad');
      ctx.setFailingReviews(true);
      await ctx.until('the failing instance joins reviews v1', async () => {
        const v = await ctx.meshView('reviews:9080');
        return v.clusters?.[REVIEWS_V1]?.endpoints === 2;
      });
      // One page at a time until the failing instance has answered once (and is ejected).
      const probes: PageResult[] = [];
      await ctx.until('the failing instance answers (503)', async () => {
        const p = await ctx.client.page();
        probes.push(p);
        return reviewsOf(p) === 'unavailable';
      });
      ctx.note(`the failing instance answered page ${probes.length} with 503: "reviews unavailable"`);
      const after = await ctx.pages(ctx.sizes.split / 2, { concurrency: ctx.sizes.concurrency });
      const end = await ctx.stats('reviews-v1-bad');
      const hits = end.requests - before.requests;
      ctx.setFailingReviews(false);
      return [
        check('reviews-v1-bad requests (consecutive5xxErrors: 1)', '1, then ejected', String(hits), hits === 1),
        allCheck(
          'after ejection: served by healthy reviews v1',
          count(after, (p) => p.page?.reviews.instance === 'reviews-v1'),
          after.length,
        ),
        noneCheck(
          'after ejection: "reviews unavailable"',
          count(after, (p) => reviewsOf(p) === 'unavailable'),
          after.length,
        ),
      ];
    },
  },
];
