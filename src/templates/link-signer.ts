import * as crypto from 'node:crypto';

// Every email carries 6–7 signatures (click links, pixel, unsubscribe token, VERP address), and
// createHmac costs ~3 µs each, mostly in setting up a fresh key object per call. HMAC is two
// hashes over the key's padded blocks (RFC 2104), so with the pads prepared once it is two
// one-shot crypto.hash calls: ~1.5 µs, the same bytes (bench:render).

type OneShotHash = (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer;
// crypto.hash arrived in Node 20.12; older versions fall back to createHmac.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

const BLOCK = 64;

/** HMAC-SHA256 under one key, for the links and tokens Chapar signs. Not for concurrent use across threads. */
export class LinkSigner {
  private readonly key: Buffer;
  // ipad ‖ message, grown as needed; opad ‖ inner digest.
  private inner: Buffer;
  private readonly outer = Buffer.alloc(BLOCK + 32);

  constructor(key: Buffer) {
    this.key = key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : Buffer.from(key);
    this.inner = Buffer.alloc(BLOCK + 256);
    for (let i = 0; i < BLOCK; i++) {
      const k = this.key[i] ?? 0;
      this.inner[i] = k ^ 0x36;
      this.outer[i] = k ^ 0x5c;
    }
  }

  /** HMAC-SHA256 of a text (UTF-8), hex: the same as createHmac('sha256', key).update(text).digest('hex'). */
  macHex(text: string): string {
    return this.mac(text).toString('hex');
  }

  /** HMAC-SHA256 of a text (UTF-8): the same bytes as createHmac('sha256', key).update(text).digest(). */
  private mac(text: string): Buffer {
    if (!oneShot) return crypto.createHmac('sha256', this.key).update(text).digest();
    const room = BLOCK + text.length * 3;
    if (room > this.inner.length) {
      const grown = Buffer.alloc(room);
      this.inner.copy(grown, 0, 0, BLOCK);
      this.inner = grown;
    }
    const n = this.inner.write(text, BLOCK, 'utf8');
    // Digests as bytes, not hex: a hex round trip per hash cost ~0.5 µs of a click's ~10 (bench:events).
    oneShot('sha256', this.inner.subarray(0, BLOCK + n), 'buffer').copy(this.outer, BLOCK);
    return oneShot('sha256', this.outer, 'buffer');
  }

  /**
   * A short signature over parts joined unambiguously (`<length>:<part>|` each): the first `bytes`
   * bytes of the HMAC, base64url. The same as signParts in lib/signing.ts.
   */
  sign(parts: readonly string[], bytes = 16): string {
    let text = '';
    for (const p of parts) text += `${p.length}:${p}|`;
    return this.mac(text).toString('base64url', 0, bytes);
  }

  /** Checks a signature made by `sign`, in constant time. */
  verify(parts: readonly string[], signature: string, bytes = 16): boolean {
    const expected = Buffer.from(this.sign(parts, bytes));
    const given = Buffer.from(signature);
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }
}
