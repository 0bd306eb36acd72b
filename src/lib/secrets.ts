import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The keys Chapar derives from its one master secret (CHAPAR_SECRET). Each purpose gets its own key
 * through HKDF so that, say, a leaked link-signing key says nothing about the suppression hashes.
 */
export interface Keyring {
  /** HMAC-SHA256 under the purpose's key, hex. Stable for a given secret; used for erased-address hashes. */
  keyedHash(purpose: string, value: string): string;
  /** The raw 32-byte key for a purpose (for encryption or signing in later modules). */
  key(purpose: string): Buffer;
}

export function createKeyring(masterSecret: Buffer): Keyring {
  if (masterSecret.length < 32) throw new Error('the master secret must be at least 32 bytes');
  const cache = new Map<string, Buffer>();
  const key = (purpose: string): Buffer => {
    let k = cache.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', masterSecret, Buffer.alloc(0), `chapar:${purpose}`, 32));
      cache.set(purpose, k);
    }
    return k;
  };
  return {
    key,
    keyedHash: (purpose, value) => createHmac('sha256', key(purpose)).update(value).digest('hex'),
  };
}

/** SHA-256 hex of a high-entropy token (API keys): no salt or slow hash needed, the input is random. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A URL-safe random token of `bytes` bytes of entropy. */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
