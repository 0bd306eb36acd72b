import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../lib/errors.ts';

/** Boot configuration, validated once and passed down as a frozen plain object. */
export interface Config {
  /** `postgres://…` or a SQLite path/URL; defaults to `<dataDir>/chapar.db`. */
  databaseUrl: string;
  dataDir: string;
  host: string;
  port: number;
  /** The address people and providers reach Chapar at (links, webhooks); defaults to http://host:port. */
  publicUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest request body accepted on ordinary routes, in bytes. */
  bodyLimitBytes: number;
  /** Largest body for bulk routes (10,000 contacts). */
  bulkBodyLimitBytes: number;
  /** Where the master secret came from: the environment, or a file Chapar generated. */
  secretSource: 'env' | 'file';
  secretFile: string | undefined;
  /** Redis for limits shared by several worker processes; without it one process keeps them in memory. */
  redisUrl: string | null;
  /** Delivery: sends in flight per worker process. */
  deliveryConcurrency: number;
  /**
   * Delivery: how long a claimed message is a worker's before another may take it (a crashed
   * worker's rows come back after this). It must outlast the longest send: the SMTP transport
   * waits up to 10 minutes for the reply to the final dot (RFC 5321), so the default is 15.
   */
  deliveryLeaseMs: number;
  /** Delivery: threads that render, build and DKIM-sign messages (0 = on the main thread). */
  buildThreads: number;
  /** Transactional API: requests a second per API key, and the burst a key may save up (per process). */
  txRate: { perSecond: number; burst: number };
  /**
   * Which peers' X-Forwarded-For is believed (proxy-addr names or CIDRs, comma-separated; false = none).
   * Only a proxy in front of Chapar may name the client: believed from anyone, a forged header
   * would dodge the per-IP limits and put a false IP in the consent log.
   */
  trustProxy: string | false;
  /** Soft bounces within the window (no delivery between) that suppress an address. */
  softBounces: { limit: number; windowMs: number };
  /**
   * How long copies kept for inspection stay: feedback that matched no message (it quotes
   * addresses and headers of mail Chapar cannot tie to a contact), and the capture transport's
   * messages (by age and by number).
   */
  retention: { unmatchedFeedbackMs: number; capturedMs: number; capturedMax: number };
  /**
   * The built-in bounce receiver (SMTP for the VERP bounce domain). `serve` starts it only when
   * CHAPAR_BOUNCE_PORT is set; `chapar bounces` runs it alone (port 2525 unless set).
   */
  bounceReceiver: {
    host: string;
    port: number | null;
    /** Domains taken besides the store's bounce domain (CHAPAR_BOUNCE_DOMAINS, comma-separated). */
    domains: string[];
    maxBytes: number;
    connectionsPerMinute: number;
    /** PEM files to offer STARTTLS with; both or neither. */
    tlsCertFile: string | null;
    tlsKeyFile: string | null;
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Reads configuration from the environment. Every problem is collected and reported together
 * so an operator fixes them in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  const problems: string[] = [];
  const dataDir = resolve(cwd, env.CHAPAR_DATA_DIR ?? 'data');
  const port = intVar(env, 'PORT', 8025, 0, 65535, problems);
  const host = env.HOST ?? '127.0.0.1';
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${env.LOG_LEVEL}")`);
  const publicUrl = (env.CHAPAR_PUBLIC_URL ?? `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`).replace(/\/$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(publicUrl)) problems.push(`CHAPAR_PUBLIC_URL must be an http(s) URL (got "${publicUrl}")`);
  const config: Config = {
    databaseUrl: env.DATABASE_URL ?? join(dataDir, 'chapar.db'),
    dataDir,
    host,
    port,
    publicUrl,
    logLevel,
    bodyLimitBytes: intVar(env, 'CHAPAR_BODY_LIMIT', 1_048_576, 1024, 1 << 30, problems),
    bulkBodyLimitBytes: intVar(env, 'CHAPAR_BULK_BODY_LIMIT', 33_554_432, 1024, 1 << 30, problems),
    secretSource: env.CHAPAR_SECRET ? 'env' : 'file',
    secretFile: env.CHAPAR_SECRET ? undefined : join(dataDir, 'secret.key'),
    redisUrl: env.CHAPAR_REDIS_URL ?? null,
    deliveryConcurrency: intVar(env, 'CHAPAR_DELIVERY_CONCURRENCY', 32, 1, 1000, problems),
    deliveryLeaseMs: intVar(env, 'CHAPAR_DELIVERY_LEASE_MS', 900_000, 1000, 86_400_000, problems),
    buildThreads: intVar(env, 'CHAPAR_BUILD_THREADS', 0, 0, 64, problems),
    txRate: txRateVars(env, problems),
    trustProxy: trustProxyVar(env, problems),
    softBounces: {
      limit: intVar(env, 'CHAPAR_SOFT_BOUNCE_LIMIT', 3, 1, 100, problems),
      windowMs: intVar(env, 'CHAPAR_SOFT_BOUNCE_DAYS', 14, 1, 365, problems) * 24 * 3600_000,
    },
    retention: {
      unmatchedFeedbackMs: intVar(env, 'CHAPAR_UNMATCHED_FEEDBACK_DAYS', 90, 1, 3650, problems) * 24 * 3600_000,
      capturedMs: intVar(env, 'CHAPAR_CAPTURE_KEEP_DAYS', 30, 1, 3650, problems) * 24 * 3600_000,
      capturedMax: intVar(env, 'CHAPAR_CAPTURE_KEEP', 10_000, 1, 10_000_000, problems),
    },
    bounceReceiver: bounceReceiverVars(env, problems),
  };
  if (config.redisUrl !== null && !/^rediss?:\/\//.test(config.redisUrl)) problems.push('CHAPAR_REDIS_URL must start with redis:// or rediss://');
  if (env.CHAPAR_SECRET && decodeSecret(env.CHAPAR_SECRET) === undefined) {
    problems.push('CHAPAR_SECRET must be at least 32 bytes, given as 64+ hex digits or 44+ base64 characters (make one with: openssl rand -base64 32)');
  }
  if (problems.length > 0) throw new AppError('config_invalid', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze(config);
}

/**
 * Returns the master secret: CHAPAR_SECRET if set, otherwise the key file in the data folder,
 * generated on first use (mode 0600). Every process sharing a database must share this secret.
 */
export function loadMasterSecret(config: Config, env: NodeJS.ProcessEnv): { secret: Buffer; created: boolean } {
  if (config.secretSource === 'env') return { secret: decodeSecret(env.CHAPAR_SECRET!)!, created: false };
  const file = config.secretFile!;
  if (existsSync(file)) {
    const secret = decodeSecret(readFileSync(file, 'utf8').trim());
    if (!secret) throw new AppError('config_invalid', `${file} does not hold a valid secret; restore it from backup or set CHAPAR_SECRET`);
    return { secret, created: false };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32);
  writeFileSync(file, `${secret.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { secret, created: true };
}

function decodeSecret(raw: string): Buffer | undefined {
  const v = raw.trim();
  const buf = /^[0-9a-fA-F]+$/.test(v) && v.length % 2 === 0 ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  return buf.length >= 32 ? buf : undefined;
}

/** CHAPAR_TRUST_PROXY: `loopback` (the default: a reverse proxy on this machine), `none`, or addresses and CIDRs. */
function trustProxyVar(env: NodeJS.ProcessEnv, problems: string[]): string | false {
  const raw = (env.CHAPAR_TRUST_PROXY ?? 'loopback').trim();
  if (raw === 'none' || raw === 'false') return false;
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (!/^(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(\/\d{1,3})?)$/.test(part)) {
      problems.push(`CHAPAR_TRUST_PROXY must be none, or a comma-separated list of loopback, linklocal, uniquelocal, addresses and CIDRs (got "${part}")`);
    }
  }
  return raw;
}

/** CHAPAR_BOUNCE_*: where the bounce receiver listens and what it takes. */
function bounceReceiverVars(env: NodeJS.ProcessEnv, problems: string[]): Config['bounceReceiver'] {
  const domains = (env.CHAPAR_BOUNCE_DOMAINS ?? '').split(',').map((d) => d.trim().toLowerCase()).filter(Boolean);
  for (const d of domains) if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(d)) problems.push(`CHAPAR_BOUNCE_DOMAINS: "${d}" is not a domain name`);
  const tlsCertFile = env.CHAPAR_BOUNCE_TLS_CERT || null;
  const tlsKeyFile = env.CHAPAR_BOUNCE_TLS_KEY || null;
  if ((tlsCertFile === null) !== (tlsKeyFile === null)) problems.push('CHAPAR_BOUNCE_TLS_CERT and CHAPAR_BOUNCE_TLS_KEY must be set together');
  return {
    host: env.CHAPAR_BOUNCE_HOST || '127.0.0.1',
    port: env.CHAPAR_BOUNCE_PORT ? intVar(env, 'CHAPAR_BOUNCE_PORT', 2525, 0, 65535, problems) : null,
    domains,
    maxBytes: intVar(env, 'CHAPAR_BOUNCE_MAX_BYTES', 10 * 1024 * 1024, 1024, 100 * 1024 * 1024, problems),
    connectionsPerMinute: intVar(env, 'CHAPAR_BOUNCE_CONNECTIONS_PER_MINUTE', 60, 1, 100_000, problems),
    tlsCertFile,
    tlsKeyFile,
  };
}

/** CHAPAR_TX_RATE (default 100 a second) and CHAPAR_TX_BURST (default twice the rate). */
function txRateVars(env: NodeJS.ProcessEnv, problems: string[]): Config['txRate'] {
  const perSecond = intVar(env, 'CHAPAR_TX_RATE', 100, 1, 100_000, problems);
  return { perSecond, burst: intVar(env, 'CHAPAR_TX_BURST', perSecond * 2, 1, 1_000_000, problems) };
}

function intVar(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return fallback;
  }
  return n;
}
