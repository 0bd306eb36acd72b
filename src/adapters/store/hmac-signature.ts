import { createHmac, timingSafeEqual } from 'node:crypto';

/** Whether a signature holds, and if not, why (for the 401's message; never the expected value). */
export type SignatureCheck = { ok: true } | { ok: false; why: string };

/**
 * Checks a `base64(HMAC-SHA256(raw body, secret))` header, the scheme WooCommerce and Shopify both
 * use. Compared in constant time over the decoded bytes, so neither the timing nor base64 padding
 * variants tell an attacker anything.
 */
export function verifyBase64Hmac(body: Buffer, secret: string, header: string | undefined, headerName: string): SignatureCheck {
  if (header === undefined || header.trim() === '') return { ok: false, why: `the ${headerName} header is missing` };
  const given = header.trim();
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(given)) return { ok: false, why: `the ${headerName} header is not a base64 HMAC-SHA256` };
  const expected = createHmac('sha256', secret).update(body).digest();
  const actual = Buffer.from(given, 'base64');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return { ok: false, why: `the ${headerName} signature does not match the body: check that the secret saved in Chapar is the one set in the store` };
  }
  return { ok: true };
}

/** One header's value (the first if repeated). */
export function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
