import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A short HMAC-SHA256 signature (128 bits, base64url) over parts joined unambiguously. Used for
 * every link and token Chapar puts in an email, so none can be forged or altered.
 */
export function signParts(key: Buffer, parts: readonly string[], bytes = 16): string {
  let text = '';
  for (const p of parts) text += `${p.length}:${p}|`;
  return createHmac('sha256', key).update(text).digest().subarray(0, bytes).toString('base64url');
}

/** Checks a signature made by signParts in constant time. */
export function verifyParts(key: Buffer, parts: readonly string[], signature: string, bytes = 16): boolean {
  const expected = Buffer.from(signParts(key, parts, bytes));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
