import * as crypto from 'node:crypto';
import { SHA256_IV, sha256Block, sha256Digest, sha256Pad } from '../lib/sha256-block.ts';

// Every email carries 6–7 signatures (click links, pixel, unsubscribe token, VERP address), and
// every click and open checks one on the thread that answers the reader. createHmac costs ~5 µs a
// call here and each one-shot crypto.hash ~2.1 µs whatever the input, mostly OpenSSL 3's set-up.
// HMAC is two hashes, each starting with one block of the padded key (RFC 2104); those two blocks
// are compressed once per key and their states kept. A message of up to 119 bytes (the pixel's,
// the unsubscribe token's, a short link's) then costs two or three block compressions in JS
// (lib/sha256-block.ts, ~0.7 µs each); a longer one, one native inner hash and a JS outer block,
// which is cheaper from three inner blocks on (a 150-character link signed in bench:render; timed in
// place under bench:events the two ways read the same). Verifying a click went from ~6 to ~3 µs
// alone. The bytes are those of createHmac (link-signer.test.ts).

type OneShotHash = (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer;
// crypto.hash arrived in Node 20.12; without it every message is hashed in JS.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

const BLOCK = 64;
/** The longest message hashed in JS: two inner blocks, with its 9 bytes of padding. */
const JS_MAX = 2 * BLOCK - 9;
/** Room for SHA-256 padding after a message. */
const PAD = BLOCK + 8;

/** HMAC-SHA256 under one key, for the links and tokens Chapar signs. Not for concurrent use across threads. */
export class LinkSigner {
  /** The hash states after the key's inner (ipad) and outer (opad) blocks. */
  private readonly innerKeyed = new Int32Array(8);
  private readonly outerKeyed = new Int32Array(8);
  private readonly state = new Int32Array(8);
  /** ipad ‖ message ‖ padding, grown as needed. */
  private buf: Buffer;
  /** The inner digest ‖ its padding: the outer hash's last block. */
  private readonly outerBlock = Buffer.alloc(BLOCK);
  private readonly digest = Buffer.alloc(32);

  constructor(key: Buffer) {
    const k = key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : key;
    this.buf = Buffer.alloc(BLOCK + 256 + PAD);
    const opad = Buffer.alloc(BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      this.buf[i] = (k[i] ?? 0) ^ 0x36;
      opad[i] = (k[i] ?? 0) ^ 0x5c;
    }
    this.innerKeyed.set(SHA256_IV);
    sha256Block(this.innerKeyed, this.buf, 0);
    this.outerKeyed.set(SHA256_IV);
    sha256Block(this.outerKeyed, opad, 0);
    sha256Pad(this.outerBlock, 0, 32, BLOCK);
  }

  /** HMAC-SHA256 of a text (UTF-8), hex: the same as createHmac('sha256', key).update(text).digest('hex'). */
  macHex(text: string): string {
    return this.mac(text).toString('hex');
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
    return sameInConstantTime(this.sign(parts, bytes), signature);
  }

  /** HMAC-SHA256 of a text (UTF-8), as createHmac gives it, in a buffer this signer reuses: read it before the next call. */
  private mac(text: string): Buffer {
    const room = BLOCK + text.length * 3 + PAD;
    if (room > this.buf.length) {
      const grown = Buffer.alloc(room);
      this.buf.copy(grown, 0, 0, BLOCK);
      this.buf = grown;
    }
    const n = this.buf.write(text, BLOCK, 'utf8');
    const s = this.state;
    if (n <= JS_MAX || !oneShot) {
      s.set(this.innerKeyed);
      const end = sha256Pad(this.buf, BLOCK, n, BLOCK);
      for (let at = BLOCK; at < end; at += BLOCK) sha256Block(s, this.buf, at);
      sha256Digest(s, this.outerBlock, 0);
    } else {
      oneShot('sha256', this.buf.subarray(0, BLOCK + n), 'buffer').copy(this.outerBlock, 0);
    }
    s.set(this.outerKeyed);
    sha256Block(s, this.outerBlock, 0);
    sha256Digest(s, this.digest, 0);
    return this.digest;
  }
}

/** Whether two strings are equal, taking the same time wherever they differ (their lengths are not secret). */
function sameInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
