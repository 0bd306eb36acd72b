import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signParts } from '../lib/signing.ts';
import { LinkSigner } from './link-signer.ts';

describe('LinkSigner', () => {
  const texts = ['', 'm0abcdef12345678', 'https://shop.example/p/کفش?utm_source=chapar&x=😀', 'x'.repeat(5000), 'é'.repeat(300)];

  it('computes the same HMAC-SHA256 as createHmac, for any text and key length', () => {
    for (const key of [randomBytes(32), randomBytes(64), randomBytes(100), Buffer.alloc(0)]) {
      const signer = new LinkSigner(key);
      for (const text of texts) expect(signer.macHex(text)).toBe(createHmac('sha256', key).update(text).digest('hex'));
    }
  });

  it('computes the same HMAC at every message length around the block boundaries, with keys of every size', () => {
    // 119 bytes is where the inner hash leaves JS for one native call; multi-byte characters straddle the blocks.
    for (const key of [randomBytes(1), randomBytes(32), randomBytes(63), randomBytes(64), randomBytes(65), randomBytes(200)]) {
      const signer = new LinkSigner(key);
      for (let n = 0; n <= 300; n++) {
        for (const text of ['a'.repeat(n), 'ب'.repeat(n >> 1) + 'x'.repeat(n & 1), randomBytes(n).toString('latin1')]) {
          expect(signer.macHex(text)).toBe(createHmac('sha256', key).update(text).digest('hex'));
        }
      }
    }
  });

  it('signs parts exactly as signParts does, so links already sent still verify', () => {
    const key = randomBytes(32);
    const signer = new LinkSigner(key);
    for (const parts of [['42', 'm0abcdef12345678', 'https://shop.example/a?b=1'], ['1', '*', 'mref0000001'], ['7', 'ref', 'x'.repeat(3000)]]) {
      expect(signer.sign(parts)).toBe(signParts(key, parts));
      expect(signer.verify(parts, signParts(key, parts))).toBe(true);
    }
  });

  it('refuses a signature for other parts, another key, or a truncated one', () => {
    const signer = new LinkSigner(randomBytes(32));
    const sig = signer.sign(['42', 'ref00000001', 'https://shop.example/']);
    expect(signer.verify(['42', 'ref00000001', 'https://evil.example/'], sig)).toBe(false);
    expect(signer.verify(['43', 'ref00000001', 'https://shop.example/'], sig)).toBe(false);
    expect(new LinkSigner(randomBytes(32)).verify(['42', 'ref00000001', 'https://shop.example/'], sig)).toBe(false);
    expect(signer.verify(['42', 'ref00000001', 'https://shop.example/'], sig.slice(0, -1))).toBe(false);
    expect(signer.verify(['42', 'ref00000001', 'https://shop.example/'], '')).toBe(false);
    // The same bytes written otherwise (padding, a character base64url decoders skip) are not the signature.
    expect(signer.verify(['42', 'ref00000001', 'https://shop.example/'], `${sig}==`)).toBe(false);
    expect(signer.verify(['42', 'ref00000001', 'https://shop.example/'], `${sig.slice(0, 10)}.${sig.slice(10)}`)).toBe(false);
    expect(signer.verify(['42', 'ref00000001', 'https://shop.example/'], sig)).toBe(true);
  });
});
