import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadMasterSecret } from './config.ts';

describe('loadConfig', () => {
  it('defaults to an SQLite file in ./data and a local address', () => {
    const c = loadConfig({}, '/srv/shop');
    expect(c).toMatchObject({ databaseUrl: '/srv/shop/data/chapar.db', host: '127.0.0.1', port: 8025, publicUrl: 'http://127.0.0.1:8025', secretSource: 'file' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', CHAPAR_SECRET: 'short', CHAPAR_PUBLIC_URL: 'ftp://x' })).toThrow(
      /PORT must be an integer[\s\S]*LOG_LEVEL must be one of[\s\S]*CHAPAR_PUBLIC_URL must be an http\(s\) URL[\s\S]*CHAPAR_SECRET must be at least 32 bytes/,
    );
  });

  it('believes X-Forwarded-For only from a proxy on this machine unless told otherwise', () => {
    expect(loadConfig({}).trustProxy).toBe('loopback');
    expect(loadConfig({ CHAPAR_TRUST_PROXY: 'none' }).trustProxy).toBe(false);
    expect(loadConfig({ CHAPAR_TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy).toBe('10.0.0.0/8, loopback');
    expect(() => loadConfig({ CHAPAR_TRUST_PROXY: 'everyone' })).toThrow('CHAPAR_TRUST_PROXY must be none, or a comma-separated list');
  });
});

describe('retention', () => {
  const DAY = 24 * 3600_000;
  it('keeps unmatched feedback 90 days and captured messages 30 days (10,000 at most) unless told otherwise', () => {
    expect(loadConfig({}).retention).toEqual({ unmatchedFeedbackMs: 90 * DAY, capturedMs: 30 * DAY, capturedMax: 10_000 });
    expect(loadConfig({ CHAPAR_UNMATCHED_FEEDBACK_DAYS: '7', CHAPAR_CAPTURE_KEEP_DAYS: '2', CHAPAR_CAPTURE_KEEP: '500' }).retention).toEqual({ unmatchedFeedbackMs: 7 * DAY, capturedMs: 2 * DAY, capturedMax: 500 });
  });

  it.each(['CHAPAR_UNMATCHED_FEEDBACK_DAYS', 'CHAPAR_CAPTURE_KEEP_DAYS', 'CHAPAR_CAPTURE_KEEP'])('refuses a nonsense %s by name', (name) => {
    for (const bad of ['0', 'forever', '-3', '99999999']) expect(() => loadConfig({ [name]: bad })).toThrow(new RegExp(`${name} must be`));
  });
});

describe('loadMasterSecret', () => {
  it('generates a 0600 secret file once and reads it back afterwards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chapar-secret-'));
    const config = loadConfig({ CHAPAR_DATA_DIR: dir });
    const first = loadMasterSecret(config, {});
    expect(first.created).toBe(true);
    expect(first.secret).toHaveLength(32);
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    const second = loadMasterSecret(config, {});
    expect(second).toEqual({ secret: first.secret, created: false });
  });

  it('refuses a damaged secret file instead of silently replacing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chapar-secret-'));
    writeFileSync(join(dir, 'secret.key'), 'abc\n');
    expect(() => loadMasterSecret(loadConfig({ CHAPAR_DATA_DIR: dir }), {})).toThrow(/does not hold a valid secret/);
    expect(readFileSync(join(dir, 'secret.key'), 'utf8')).toBe('abc\n');
  });

  it('prefers CHAPAR_SECRET (hex or base64)', () => {
    const hex = 'ab'.repeat(32);
    const env = { CHAPAR_SECRET: hex };
    expect(loadMasterSecret(loadConfig(env), env).secret.toString('hex')).toBe(hex);
  });
});
