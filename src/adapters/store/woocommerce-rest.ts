import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, invalid } from '../../lib/errors.ts';
import { signOAuthQuery } from './woocommerce-oauth.ts';

// A reader for WooCommerce's REST API v3 list endpoints (formats.md 1.6): one page at a time, with
// the paging headers, the authentication WooCommerce accepts for the scheme, a timeout per request
// and retries with backoff on 429 and 5xx. It only reads (GET).

/** The list endpoints a backfill reads. */
export type WooResource = 'orders' | 'customers' | 'products';

/** How the API keys travel: Basic header or query keys (HTTPS only), OAuth 1.0a signature (plain HTTP). */
export type WooAuthMode = 'basic' | 'query' | 'oauth';

export interface WooRestOptions {
  /** The shop's address (`https://shop.example`); a trailing `/wp-json/wc/v3` is accepted and removed. */
  url: string;
  consumerKey: string;
  consumerSecret: string;
  /** Default: `basic` over https, `oauth` over http. */
  auth?: WooAuthMode;
  /** Per request, milliseconds (default 30 s). */
  timeoutMs?: number;
  /** Attempts after the first on 429, 5xx and network errors (default 5). */
  retries?: number;
  /** First backoff, doubled per attempt (default 1 s); a Retry-After header wins, capped by maxWaitMs. */
  backoffMs?: number;
  /** The longest single wait (default 60 s). */
  maxWaitMs?: number;
  /** Extra trusted CA certificates (tests with a local HTTPS server). */
  ca?: string | Buffer;
  /** The time used for OAuth timestamps (default Date.now). */
  now?: () => number;
}

/** One page of a list endpoint; `totalPages`/`total` are undefined when the shop sent no paging headers. */
export interface WooPage {
  items: unknown[];
  total: number | undefined;
  totalPages: number | undefined;
}

/** What a page request asks for: page numbers from 1, sorted by id ascending so pages stay stable as new records arrive. */
export interface WooPageRequest {
  page: number;
  perPage: number;
  /** Only records modified after this ISO date (UTC); orders and products support it, customers do not. */
  modifiedAfter?: string;
}

/** Reads pages of the shop's orders, customers and products. */
export interface WooRestClient {
  /** The shop's address as normalised (for cursor names and messages). */
  readonly siteUrl: string;
  fetchPage(resource: WooResource, req: WooPageRequest): Promise<WooPage>;
}

const KEY_PATTERN = /^ck_[0-9a-f]{40}$/;
const SECRET_PATTERN = /^cs_[0-9a-f]{40}$/;

/** Checks the options and returns a client; nothing is requested until fetchPage. */
export function createWooRestClient(opts: WooRestOptions): WooRestClient {
  let site: URL;
  try {
    site = new URL(opts.url);
  } catch {
    throw invalid('--rest', `"${opts.url}" is not a URL (e.g. https://shop.example)`);
  }
  if (site.protocol !== 'https:' && site.protocol !== 'http:') throw invalid('--rest', `"${opts.url}" is not an http(s) URL`);
  if (site.username || site.password) throw invalid('--rest', 'put the API keys in --key and --secret, not in the URL');
  const siteUrl = `${site.origin}${site.pathname.replace(/\/+$/, '').replace(/\/wp-json(\/wc\/v3)?$/, '')}`;
  if (!KEY_PATTERN.test(opts.consumerKey)) throw invalid('--key', 'a WooCommerce consumer key is "ck_" and 40 hex digits (WooCommerce → Settings → Advanced → REST API)');
  if (!SECRET_PATTERN.test(opts.consumerSecret)) throw invalid('--secret', 'a WooCommerce consumer secret is "cs_" and 40 hex digits');
  const secure = site.protocol === 'https:';
  const auth = opts.auth ?? (secure ? 'basic' : 'oauth');
  // WooCommerce itself ignores Basic and query keys over plain HTTP; sending them would also expose the secret.
  if (!secure && auth !== 'oauth') throw invalid('--auth', `${auth} sends the secret in the clear and WooCommerce refuses it over http; use https or --auth oauth`);
  const retries = opts.retries ?? 5;
  const backoffMs = opts.backoffMs ?? 1000;
  const maxWaitMs = opts.maxWaitMs ?? 60_000;
  const now = opts.now ?? Date.now;

  function buildRequest(resource: WooResource, req: WooPageRequest): { url: string; headers: Record<string, string> } {
    const endpoint = `${siteUrl}/wp-json/wc/v3/${resource}`;
    const params: Record<string, string> = { page: String(req.page), per_page: String(req.perPage), orderby: 'id', order: 'asc' };
    if (req.modifiedAfter) {
      params.modified_after = req.modifiedAfter;
      params.dates_are_gmt = 'true';
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'Chapar-Backfill/1' };
    let query = params;
    if (auth === 'basic') headers.authorization = `Basic ${Buffer.from(`${opts.consumerKey}:${opts.consumerSecret}`).toString('base64')}`;
    else if (auth === 'query') query = { ...params, consumer_key: opts.consumerKey, consumer_secret: opts.consumerSecret };
    else query = signOAuthQuery({ method: 'GET', url: endpoint, params, consumerKey: opts.consumerKey, consumerSecret: opts.consumerSecret, nowMs: now() });
    return { url: `${endpoint}?${new URLSearchParams(query).toString()}`, headers };
  }

  async function fetchPage(resource: WooResource, req: WooPageRequest): Promise<WooPage> {
    for (let attempt = 0; ; attempt++) {
      // Signed anew on each attempt: WooCommerce refuses a nonce it has seen.
      const { url, headers } = buildRequest(resource, req);
      let res: RawResponse;
      try {
        res = await get(url, headers, opts.timeoutMs ?? 30_000, opts.ca);
      } catch (err) {
        if (attempt >= retries) throw new AppError('import_failed', `${resource} page ${req.page}: ${(err as Error).message} (after ${attempt + 1} attempts)`);
        await sleep(Math.min(backoffMs * 2 ** attempt, maxWaitMs));
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        if (attempt >= retries) throw new AppError(res.status === 429 ? 'rate_limited' : 'import_failed', `${resource} page ${req.page}: the shop answered HTTP ${res.status} ${attempt + 1} times; try again later`);
        const retryAfter = Number(res.headers['retry-after']);
        await sleep(Math.min(Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : backoffMs * 2 ** attempt, maxWaitMs));
        continue;
      }
      return readPage(resource, req, res, siteUrl);
    }
  }

  return { siteUrl, fetchPage };
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

// Pages of 100 orders are a few hundred kB; more than 64 MB is not a WooCommerce answer.
const MAX_BODY = 64 * 1024 * 1024;

function get(url: string, headers: Record<string, string>, timeoutMs: number, ca: string | Buffer | undefined): Promise<RawResponse> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { headers, timeout: timeoutMs, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error('the response is larger than 64 MB'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function readPage(resource: WooResource, req: WooPageRequest, res: RawResponse, siteUrl: string): WooPage {
  let json: unknown;
  try {
    json = JSON.parse(res.body);
  } catch {
    json = undefined;
  }
  const where = `${resource} page ${req.page}`;
  if (res.status === 401 || res.status === 403) {
    const e = (json ?? {}) as { code?: unknown; message?: unknown };
    throw new AppError('unauthorized', `${where}: the shop refused the API keys (HTTP ${res.status} ${String(e.code ?? '')}: ${String(e.message ?? 'no message')}). Check the key and secret, that the key has read permission, and that the shop's address matches its WordPress address exactly.`);
  }
  if (res.status === 404) throw new AppError('not_found', `${where}: no WooCommerce REST API at ${siteUrl}/wp-json/wc/v3 (HTTP 404). Is WooCommerce active and are pretty permalinks on?`);
  if (res.status !== 200) throw new AppError('import_failed', `${where}: the shop answered HTTP ${res.status}${json && typeof (json as { message?: unknown }).message === 'string' ? `: ${(json as { message: string }).message}` : ''}`);
  if (!Array.isArray(json)) throw new AppError('import_failed', `${where}: the answer is not a JSON list (a security plugin or a login page in the way?)`);
  const total = headerInt(res.headers['x-wp-total']);
  const totalPages = headerInt(res.headers['x-wp-totalpages']);
  return { items: json, total, totalPages };
}

function headerInt(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s !== undefined && /^\d+$/.test(s.trim()) ? Number(s) : undefined;
}
