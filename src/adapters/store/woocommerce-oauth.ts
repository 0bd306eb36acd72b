import { createHmac, randomBytes } from 'node:crypto';

// OAuth 1.0a "one-legged" signing, the only way WooCommerce accepts API keys over plain HTTP
// (class-wc-rest-authentication.php): no token, key = consumer_secret + '&', the oauth_* parameters
// in the query string next to the request's own, HMAC-SHA256.

/** RFC 3986 percent-encoding, as PHP's rawurlencode (what WooCommerce re-encodes with before comparing). */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The OAuth 1.0a signature base string: METHOD & encoded URL without query & encoded sorted parameters. */
export function oauthBaseString(method: string, urlWithoutQuery: string, params: Record<string, string>): string {
  const pairs = Object.entries(params)
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return `${method.toUpperCase()}&${rfc3986(urlWithoutQuery)}&${rfc3986(pairs)}`;
}

/**
 * Returns the query parameters of a signed request: the request's own plus oauth_consumer_key,
 * oauth_nonce, oauth_signature_method, oauth_timestamp and oauth_signature.
 */
export function signOAuthQuery(p: {
  method: string;
  url: string;
  params: Record<string, string>;
  consumerKey: string;
  consumerSecret: string;
  nowMs: number;
  nonce?: string;
}): Record<string, string> {
  const all: Record<string, string> = {
    ...p.params,
    oauth_consumer_key: p.consumerKey,
    // WooCommerce remembers nonces for 15 minutes per key: 32 random alphanumerics never repeat.
    oauth_nonce: p.nonce ?? randomBytes(16).toString('hex'),
    oauth_signature_method: 'HMAC-SHA256',
    oauth_timestamp: String(Math.floor(p.nowMs / 1000)),
  };
  const signature = createHmac('sha256', `${p.consumerSecret}&`).update(oauthBaseString(p.method, p.url, all)).digest('base64');
  return { ...all, oauth_signature: signature };
}
