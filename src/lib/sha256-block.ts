// The SHA-256 compression function (FIPS 180-4 §6.2.2), for HMACs whose key blocks are hashed
// once and reused (templates/link-signer.ts). Node's crypto has no way to resume a hash from a
// saved state, and each of its calls costs ~2.1 µs on this machine's OpenSSL 3 whatever the input
// (one block here takes ~0.7 µs); @noble/hashes's HMAC took ~7 µs a call. Checked against
// createHash/createHmac on thousands of inputs in link-signer.test.ts and sha256-block.test.ts.

/** The initial hash value H(0). */
export const SHA256_IV: Readonly<Int32Array> = Int32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);

const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);

// The message schedule, reused (one thread runs one compression at a time).
const W = new Int32Array(64);

/** Compresses the 64-byte block at `bytes[offset]` into `state` (eight 32-bit words, updated in place). */
export function sha256Block(state: Int32Array, bytes: Uint8Array, offset: number): void {
  for (let i = 0, o = offset; i < 16; i++, o += 4) W[i] = (bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!;
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * Pads the message whose last `n` bytes sit at `bytes[from..from+n)` (FIPS 180-4 §5.1.1), after
 * `prefixBytes` bytes already compressed, and returns where the padded tail ends. `bytes` must
 * have room for 72 more bytes.
 */
export function sha256Pad(bytes: Uint8Array, from: number, n: number, prefixBytes: number): number {
  let end = from + n;
  bytes[end++] = 0x80;
  while ((end - from) % 64 !== 56) bytes[end++] = 0;
  const bits = (prefixBytes + n) * 8;
  const high = Math.floor(bits / 0x100000000);
  const low = bits >>> 0;
  bytes[end] = high >>> 24;
  bytes[end + 1] = high >>> 16;
  bytes[end + 2] = high >>> 8;
  bytes[end + 3] = high;
  bytes[end + 4] = low >>> 24;
  bytes[end + 5] = low >>> 16;
  bytes[end + 6] = low >>> 8;
  bytes[end + 7] = low;
  return end + 8;
}

/** Writes the state as the 32-byte digest (big-endian words) at `bytes[offset]`. */
export function sha256Digest(state: Int32Array, bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    const o = offset + 4 * i;
    bytes[o] = v >>> 24;
    bytes[o + 1] = v >>> 16;
    bytes[o + 2] = v >>> 8;
    bytes[o + 3] = v;
  }
}
