import { X509Certificate, type KeyObject } from 'node:crypto';
import type { HttpsGet } from '../../ports/https-get.ts';

/** The public keys of SNS signing certificates, fetched once per URL and kept. */
export interface SnsCertificates {
  /** The key of the certificate at `url` (already checked to be an SNS host); rejects when it cannot be had. */
  publicKeyFor(url: string): Promise<KeyObject>;
}

/**
 * A cache of SNS signing keys in front of `get`. AWS rotates certificates rarely and each has its
 * own URL, so a key is kept for the life of the process; at most `maxEntries` are kept (oldest
 * dropped), and a failed fetch is not kept, so the provider's retry fetches again. Concurrent
 * requests for one URL share one fetch.
 */
export function createSnsCertificates(get: HttpsGet, maxEntries = 32): SnsCertificates {
  const keys = new Map<string, Promise<KeyObject>>();
  return {
    publicKeyFor(url) {
      const cached = keys.get(url);
      if (cached) return cached;
      const pending = fetchKey(get, url);
      if (keys.size >= maxEntries) keys.delete(keys.keys().next().value!);
      keys.set(url, pending);
      pending.catch(() => keys.delete(url));
      return pending;
    },
  };
}

async function fetchKey(get: HttpsGet, url: string): Promise<KeyObject> {
  const answer = await get(url);
  if (answer.status !== 200) throw new Error(`the signing certificate URL answered HTTP ${answer.status}`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(answer.body);
  } catch {
    throw new Error('the signing certificate URL did not return a PEM certificate');
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') throw new Error('the signing certificate does not hold an RSA key');
  return cert.publicKey;
}
