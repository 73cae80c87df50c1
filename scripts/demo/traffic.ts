// The demo's user: requests to the ingress gateway, as a browser would send them (the signed-in
// user is the `user` cookie productpage sets at /login), with what each answer shows.

export interface Rating {
  readonly stars?: number;
  readonly color?: string;
  readonly error?: string;
}

export interface ProductPage {
  readonly user: string | null;
  readonly details: { readonly instance?: string; readonly error?: string };
  readonly reviews: {
    readonly version?: string;
    readonly instance?: string;
    readonly reviews?: readonly { readonly rating?: Rating }[];
    /** how reviews' call to ratings went (v2 / v3 only) */
    readonly ratings?: {
      readonly status: number;
      readonly flags: string;
      readonly instance?: string;
      readonly attempt?: number;
    };
    readonly error?: string;
    readonly status?: number;
  };
}

export interface PageResult {
  readonly status: number;
  readonly ms: number;
  readonly page: ProductPage | undefined;
  readonly error?: string;
}

export interface Response {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly ms: number;
}

/** What a page shows: which reviews version answered, or that reviews failed. */
export function reviewsOf(r: PageResult): string {
  if (r.page === undefined) return `HTTP ${r.status}`;
  return r.page.reviews.version ?? 'unavailable';
}

/** The stars on a page: none (v1), black (v2), red (v3), or "unavailable" when ratings failed. */
export function starsOf(r: PageResult): 'none' | 'black' | 'red' | 'unavailable' | 'no reviews' {
  const reviews = r.page?.reviews;
  if (reviews?.reviews === undefined) return 'no reviews';
  const rating = reviews.reviews[0]?.rating;
  if (rating === undefined) return 'none';
  if (rating.error !== undefined) return 'unavailable';
  return rating.color === 'red' ? 'red' : 'black';
}

export class GatewayClient {
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const start = performance.now();
    const res = await fetch(`${this.base}${path}`, {
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, ms: performance.now() - start };
  }

  /** GET /productpage as JSON, signed in as `user` (a session cookie) or anonymously. */
  async page(user?: string): Promise<PageResult> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (user !== undefined) headers['cookie'] = `user=${encodeURIComponent(user)}`;
    try {
      const r = await this.get('/productpage', headers);
      let page: ProductPage | undefined;
      if (r.status === 200) {
        try {
          page = JSON.parse(r.text) as ProductPage;
        } catch {
          page = undefined;
        }
      }
      return { status: r.status, ms: r.ms, page };
    } catch (err) {
      return { status: 0, ms: 0, page: undefined, error: String(err) };
    }
  }

  /** `n` page loads, `concurrency` at a time, in request order. */
  async pages(
    n: number,
    options: { user?: string; concurrency?: number; onProgress?: (done: number) => void } = {},
  ): Promise<PageResult[]> {
    const out: PageResult[] = new Array(n);
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        out[i] = await this.page(options.user);
        options.onProgress?.(++done);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 1, n)) }, worker));
    return out;
  }
}
