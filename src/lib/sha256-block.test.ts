import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SHA256_IV, sha256Block, sha256Digest, sha256Pad } from './sha256-block.ts';

/** SHA-256 of `data` from the block function alone. */
function sha256(data: Buffer): Buffer {
  const bytes = Buffer.alloc(data.length + 72);
  data.copy(bytes);
  const state = Int32Array.from(SHA256_IV);
  const end = sha256Pad(bytes, 0, data.length, 0);
  for (let at = 0; at < end; at += 64) sha256Block(state, bytes, at);
  const out = Buffer.alloc(32);
  sha256Digest(state, out, 0);
  return out;
}

describe('sha256Block', () => {
  it('gives the FIPS 180-4 digests of "abc" and the empty message', () => {
    expect(sha256(Buffer.from('abc')).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.alloc(0)).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toString('hex')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches createHash on every length from 0 to 300 bytes and on long messages', () => {
    for (let n = 0; n <= 300; n++) {
      const data = randomBytes(n);
      expect(sha256(data).equals(createHash('sha256').update(data).digest())).toBe(true);
    }
    for (const n of [1000, 4095, 4096, 65_537]) {
      const data = randomBytes(n);
      expect(sha256(data).equals(createHash('sha256').update(data).digest())).toBe(true);
    }
  });
});
