import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

// A local stand-in for a WooCommerce shop's REST API v3 list endpoints, written from
// class-wc-rest-authentication.php and the REST docs (formats.md 1.6): over HTTPS it takes query
// keys (first) or HTTP Basic; over HTTP only OAuth 1.0a one-legged, whose signature it recomputes
// the way WooCommerce does (PHP rawurlencode, keys sorted with strcmp, the "k=v" pairs encoded a
// second time and joined with %26, key = secret + '&'), with the ±15 minute timestamp window and
// single-use nonces. Lists page with page/per_page (max 100) and answer X-WP-Total/X-WP-TotalPages.

const TLS_DIR = join(import.meta.dirname, '..', 'fixtures', 'tls');

/** The CA a client must trust to reach the HTTPS variant. */
export const WOO_TEST_CA = readFileSync(join(TLS_DIR, 'localhost.crt'));

export type WooListResource = 'orders' | 'customers' | 'products';

/** A planned failure: the next `times` requests matching `resource` (and `page`, if given) get `status`. */
export interface WooFault {
  resource: WooListResource;
  page?: number;
  status: number;
  times: number;
  retryAfter?: string;
}

export interface FakeWooShop {
  /** The shop's address (`http://127.0.0.1:port` or `https://127.0.0.1:port`). */
  url: string;
  key: string;
  secret: string;
  data: Record<WooListResource, Record<string, unknown>[]>;
  faults: WooFault[];
  /** Every request: resource, query, the auth that was used and the answer's status. */
  requests: { resource: string; query: Record<string, string>; auth: string; status: number }[];
  close(): Promise<void>;
}

/** PHP's rawurlencode: UTF-8 bytes, everything but A-Z a-z 0-9 - _ . ~ percent-encoded in upper case. */
function phpRawUrlEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// wc_rest_urlencode_rfc3986(): rawurlencode, then '+' → ' ' and '%7E' → '~'.
function wcEncode(s: string): string {
  return phpRawUrlEncode(s).replace(/\+/g, ' ').replace(/%7E/g, '~');
}

function strcmp(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

/** The signature WooCommerce expects for these (decoded) parameters, as check_oauth_signature() computes it. */
export function wooExpectedSignature(method: string, homeUrlWithPath: string, params: Record<string, string>, secret: string, algorithm: 'sha1' | 'sha256'): string {
  const keys = Object.keys(params).filter((k) => k !== 'oauth_signature').sort(strcmp);
  const queryString = keys.map((k) => wcEncode(`${wcEncode(k)}=${wcEncode(params[k]!)}`)).join('%26');
  const stringToSign = `${method}&${phpRawUrlEncode(homeUrlWithPath)}&${queryString}`;
  return createHmac(algorithm, `${secret}&`).update(stringToSign).digest('base64');
}

function parseOAuthHeader(header: string): Record<string, string> {
  if (!header.startsWith('OAuth ')) return {};
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))/g)) out[m[1]!] = decodeURIComponent((m[3] || m[4] || '').replace(/\+/g, ' '));
  return out;
}

type AuthResult = { ok: true; via: string } | { ok: false; code: string; message: string; via: string };

const OAUTH_PARAMS = ['oauth_consumer_key', 'oauth_timestamp', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method'];

/** Starts a fake shop on 127.0.0.1; `secure` serves HTTPS with the test certificate. */
export async function startFakeWooShop(opts: { secure?: boolean; key: string; secret: string; data?: Partial<FakeWooShop['data']> }): Promise<FakeWooShop> {
  const usedNonces = new Set<string>();
  const shop = {
    key: opts.key,
    secret: opts.secret,
    data: { orders: [], customers: [], products: [], ...opts.data },
    faults: [] as WooFault[],
    requests: [] as FakeWooShop['requests'],
  };

  function authenticate(req: http.IncomingMessage, query: Record<string, string>, homeUrl: string, path: string): AuthResult {
    if (opts.secure) {
      let key = '';
      let secret = '';
      if (query.consumer_key && query.consumer_secret) [key, secret] = [query.consumer_key, query.consumer_secret];
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      if (!key && basic) {
        const decoded = Buffer.from(basic[1]!, 'base64').toString();
        const colon = decoded.indexOf(':');
        [key, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
      }
      const via = query.consumer_key ? 'query' : basic ? 'basic' : 'none';
      if (key && secret && key === shop.key) {
        return secret === shop.secret ? { ok: true, via } : { ok: false, code: 'woocommerce_rest_authentication_error', message: 'Consumer secret is invalid.', via };
      }
      // Unknown key over HTTPS: WooCommerce falls through to OAuth, which finds no parameters.
    }
    const params: Record<string, string> = { ...query, ...parseOAuthHeader(req.headers.authorization ?? '') };
    const missing = OAUTH_PARAMS.filter((p) => !params[p]);
    if (missing.length === OAUTH_PARAMS.length) return { ok: false, code: 'woocommerce_rest_cannot_view', message: 'Sorry, you cannot list resources.', via: 'none' };
    if (missing.length) return { ok: false, code: 'woocommerce_rest_authentication_missing_parameter', message: `Missing OAuth parameters ${missing.join(', ')}`, via: 'oauth' };
    if (params.oauth_consumer_key !== shop.key) return { ok: false, code: 'woocommerce_rest_authentication_error', message: 'Consumer key is invalid.', via: 'oauth' };
    const method = params.oauth_signature_method;
    if (method !== 'HMAC-SHA1' && method !== 'HMAC-SHA256') return { ok: false, code: 'woocommerce_rest_authentication_error', message: 'Invalid signature - signature method is invalid.', via: 'oauth' };
    const expected = Buffer.from(wooExpectedSignature(req.method ?? 'GET', `${homeUrl}${path}`, params, shop.secret, method === 'HMAC-SHA1' ? 'sha1' : 'sha256'));
    const given = Buffer.from(decodeURIComponent(params.oauth_signature!.replace(/ /g, '+')));
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, code: 'woocommerce_rest_authentication_error', message: 'Invalid signature - provided signature does not match.', via: 'oauth' };
    const ts = Number(params.oauth_timestamp);
    const now = Date.now() / 1000;
    if (!(ts >= now - 900 && ts <= now + 900)) return { ok: false, code: 'woocommerce_rest_authentication_error', message: 'Invalid timestamp.', via: 'oauth' };
    if (usedNonces.has(params.oauth_nonce!)) return { ok: false, code: 'woocommerce_rest_authentication_error', message: 'Invalid nonce - nonce has already been used.', via: 'oauth' };
    usedNonces.add(params.oauth_nonce!);
    return { ok: true, via: 'oauth' };
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const homeUrl = `${opts.secure ? 'https' : 'http'}://${req.headers.host}`;
    const url = new URL(req.url ?? '/', homeUrl);
    const query = Object.fromEntries(url.searchParams);
    const m = /^\/wp-json\/wc\/v3\/(orders|customers|products)$/.exec(url.pathname);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      shop.requests.push({ resource: m?.[1] ?? url.pathname, query, auth: auth?.via ?? 'none', status });
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(JSON.stringify(body));
    };
    let auth: AuthResult | undefined;
    if (!m) return send(404, { code: 'rest_no_route', message: 'No route was found matching the URL and request method.', data: { status: 404 } });
    const resource = m[1] as WooListResource;
    auth = authenticate(req, query, homeUrl, url.pathname);
    if (!auth.ok) return send(401, { code: auth.code, message: auth.message, data: { status: 401 } });
    const page = Number(query.page ?? '1');
    const perPage = Number(query.per_page ?? '10');
    if (!(perPage >= 1 && perPage <= 100)) return send(400, { code: 'rest_invalid_param', message: 'Invalid parameter(s): per_page', data: { status: 400, params: { per_page: 'per_page must be between 1 (inclusive) and 100 (inclusive)' } } });
    const fault = shop.faults.find((f) => f.resource === resource && (f.page === undefined || f.page === page) && f.times > 0);
    if (fault) {
      fault.times--;
      return send(fault.status, { code: 'fault', message: `planned HTTP ${fault.status}` }, fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {});
    }
    let rows = shop.data[resource].slice();
    // status=any (the default) lists every status but trash.
    if (resource === 'orders' && (query.status ?? 'any') === 'any') rows = rows.filter((o) => o.status !== 'trash');
    if (query.modified_after) {
      const after = Date.parse(`${query.modified_after}${query.dates_are_gmt === 'true' ? 'Z' : ''}`);
      rows = rows.filter((r) => Date.parse(`${r.date_modified_gmt}Z`) > after);
    }
    const orderby = query.orderby ?? (resource === 'customers' ? 'id' : 'date');
    const dir = (query.order ?? (resource === 'customers' ? 'asc' : 'desc')) === 'asc' ? 1 : -1;
    rows.sort((a, b) => dir * (orderby === 'id' ? Number(a.id) - Number(b.id) : String(a.date_created_gmt).localeCompare(String(b.date_created_gmt))));
    const total = rows.length;
    const totalPages = Math.ceil(total / perPage);
    send(200, rows.slice((page - 1) * perPage, page * perPage), { 'x-wp-total': String(total), 'x-wp-totalpages': String(totalPages) });
  };

  const server = opts.secure
    ? https.createServer({ cert: WOO_TEST_CA, key: readFileSync(join(TLS_DIR, 'localhost.key')) }, handler)
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(shop, {
    url: opts.secure ? `https://127.0.0.1:${port}` : `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
