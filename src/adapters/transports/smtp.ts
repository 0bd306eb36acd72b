import { isIP } from 'node:net';
import { AppError } from '../../lib/errors.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../ports/mail-transport.ts';
import { openSmtpConnection, type SmtpConnection } from './smtp-client.ts';
import type { SmtpClientOptions } from './smtp-protocol.ts';
import { resultOfSmtpFault, resultOfSmtpOutcome, type SmtpErrorContext } from './smtp-results.ts';

/** How to reach one SMTP server (an own MTA, a smarthost): a pool of connections to it. */
export interface SmtpTransportConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); `starttls` does not apply then. */
  secure: boolean;
  /**
   * `require`: never send in clear text; a server that does not offer STARTTLS, or whose
   * certificate fails, gets no message (deferred). `opportunistic`: upgrade when offered, and
   * carry on in clear text if the STARTTLS command itself is refused.
   */
  starttls: 'require' | 'opportunistic';
  auth?: { user: string; pass: string };
  /** Source address of the connections: the dedicated IP this transport sends from. */
  localAddress?: string;
  /** Connections open at once (default 8). */
  maxConnections?: number;
  /** Messages sent over one connection before it is replaced (default 100). */
  maxMessagesPerConnection?: number;
  /** Deadline for DNS and TCP connect (default 30 s). */
  connectionTimeoutMs?: number;
  /** Deadline for the 220 greeting and the TLS upgrade (default 30 s). */
  greetingTimeoutMs?: number;
  /**
   * Longest silence of the server in a session (default 10 min, RFC 5321 §4.5.3.2's wait for the
   * reply to the final dot: a shorter one risks giving up on a message that was in fact accepted).
   */
  socketTimeoutMs?: number;
  /**
   * `rejectUnauthorized` defaults to true with `secure` or `starttls: 'require'`, false with
   * `opportunistic`; `ca` (PEM) trusts a private CA, e.g. the one of an internal relay.
   */
  tls?: { rejectUnauthorized?: boolean; servername?: string; ca?: string };
  /** The EHLO hostname: this host's FQDN, the one its sending IP's PTR record names. */
  name: string;
}

const DEFAULTS = { maxConnections: 8, maxMessagesPerConnection: 100, connectionTimeoutMs: 30_000, greetingTimeoutMs: 30_000, socketTimeoutMs: 600_000 };

interface Job {
  mail: OutgoingMail;
  resolve: (result: SendResult) => void;
  /** Already put back once after a connection the server had dropped while idle. */
  retried: boolean;
}

/**
 * The SMTP transport: a pool of up to `maxConnections` sessions (smtp-client.ts), each sending
 * queued messages one after another, the already signed message byte for byte with our envelope.
 * Every outcome is a SendResult; nothing here throws per message. The pool is hand-written
 * rather than nodemailer's: see smtp-client.ts for the measured reason.
 */
export function createSmtpTransport(config: SmtpTransportConfig): MailTransport {
  checkSmtpConfig(config);
  const c = { ...DEFAULTS, ...config };
  const options: SmtpClientOptions = {
    host: c.host,
    port: c.port,
    secure: c.secure,
    starttls: c.starttls,
    name: c.name,
    connectionTimeoutMs: c.connectionTimeoutMs,
    greetingTimeoutMs: c.greetingTimeoutMs,
    socketTimeoutMs: c.socketTimeoutMs,
    // Opportunistic TLS verifies nothing by default (RFC 7435, Postfix's `may`): an unverified
    // encryption beats the clear text it would otherwise fall back to, and a local MTA's
    // self-signed certificate must not stop the mail. `require` and implicit TLS verify.
    tls: { ...c.tls, rejectUnauthorized: c.tls?.rejectUnauthorized ?? (c.secure || c.starttls === 'require') },
    ...(c.localAddress ? { localAddress: c.localAddress } : {}),
    ...(c.auth ? { auth: { user: c.auth.user, pass: c.auth.pass } } : {}),
  };
  const context: SmtpErrorContext = {
    endpoint: `${c.host}:${c.port}`,
    localAddress: c.localAddress,
    user: c.auth?.user,
    secrets: c.auth ? secretFormsOf(c.auth.user, c.auth.pass) : [],
    timeouts: { connect: c.connectionTimeoutMs, greeting: c.greetingTimeoutMs, socket: c.socketTimeoutMs },
  };
  const queue: Job[] = [];
  // Sessions between messages, ready for the next lane; a session the server closes leaves at once.
  const idle = new Set<SmtpConnection>();
  const lanes = new Set<Promise<void>>();
  let active = 0;
  let closed = false;

  // A lane owns one session at a time and sends queued messages over it until the queue is empty.
  // Lanes + idle sessions never exceed maxConnections: a new lane takes an idle session first.
  async function runLane(): Promise<void> {
    let conn = takeIdle();
    let job: Job | undefined;
    try {
      for (job = queue.shift(); job; job = closed ? undefined : queue.shift()) {
        if (conn && !conn.usable) conn = await letGo(conn);
        if (!conn) {
          const opened = await openSmtpConnection(options);
          if (!opened.ok) {
            job.resolve(resultOfSmtpFault(opened.fault, context));
            continue;
          }
          conn = opened.connection;
        }
        const outcome = await conn.send(job.mail.envelope.from, job.mail.envelope.to, job.mail.raw);
        if (outcome.kind === 'fault' && outcome.stale && !job.retried) {
          // The server had dropped the session while it sat idle, and nothing of this message
          // reached it (no reply, no byte of the message): it goes again, once, on another session.
          job.retried = true;
          queue.unshift(job);
        } else {
          job.resolve(resultOfSmtpOutcome(outcome, context));
        }
        if (!conn.usable || conn.transactions >= c.maxMessagesPerConnection) conn = await letGo(conn);
      }
    } catch (err) {
      // A bug, not a server's doing: the message is deferred, not left hanging.
      job?.resolve({ status: 'deferred', response: `transport error: ${(err as Error).message}` });
      conn?.destroy();
      conn = null;
    } finally {
      // In the same tick as the empty queue was seen: a message queued from now on starts a lane.
      active--;
    }
    if (conn && !closed && conn.usable) park(conn);
    else if (conn) await conn.quit();
  }

  function startLane(): void {
    active++;
    const lane = runLane().finally(() => lanes.delete(lane));
    lanes.add(lane);
  }

  // Waits until the old session is gone before a lane opens the next, so the server never sees
  // more than maxConnections of ours (a per-IP connection limit would answer 421).
  async function letGo(conn: SmtpConnection): Promise<null> {
    await conn.quit();
    return null;
  }

  function park(conn: SmtpConnection): void {
    idle.add(conn);
    conn.onClose = () => idle.delete(conn);
  }

  function takeIdle(): SmtpConnection | null {
    for (const conn of idle) {
      idle.delete(conn);
      conn.onClose = null;
      if (conn.usable) return conn;
      void conn.quit();
    }
    return null;
  }

  return {
    name: 'smtp',
    send(mail) {
      if (closed) return Promise.resolve({ status: 'deferred', response: 'transport closed before the message was sent' });
      const problem = envelopeProblem(mail.envelope);
      if (problem) return Promise.resolve({ status: 'failed', response: `message not sendable: ${problem}` });
      return new Promise((resolve) => {
        queue.push({ mail, resolve, retried: false });
        if (active < c.maxConnections) startLane();
      });
    },
    // Idle sessions close at once; one in the middle of a message finishes it first (a cut would
    // leave the server's 250 unheard, and the message would go out twice). Messages still queued
    // are deferred.
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.resolve({ status: 'deferred', response: 'transport closed before the message was sent' });
      const quits = [...idle].map((conn) => conn.quit());
      idle.clear();
      await Promise.allSettled([...lanes, ...quits]);
    },
  };
}

/** Checks a transport's settings; the message names the setting, never the password. */
export function checkSmtpConfig(c: SmtpTransportConfig): void {
  const fail = (setting: string, message: string) => new AppError('config_invalid', `smtp.${setting}: ${message}`, [{ field: `smtp.${setting}`, message }]);
  if (typeof c.host !== 'string' || !/^[^\s\x00-\x1f]+$/.test(c.host)) throw fail('host', 'must be a host name or IP address');
  if (!isPort(c.port)) throw fail('port', 'must be a whole number from 1 to 65535');
  if (typeof c.secure !== 'boolean') throw fail('secure', 'must be true (TLS from the first byte, port 465) or false');
  if (c.starttls !== 'require' && c.starttls !== 'opportunistic') throw fail('starttls', "must be 'require' or 'opportunistic'");
  if (typeof c.name !== 'string' || !isEhloName(c.name)) throw fail('name', 'must be the fully qualified host name to give in EHLO (e.g. mta1.example.com) or an address literal like [192.0.2.1]');
  if (c.localAddress !== undefined && isIP(c.localAddress) === 0) throw fail('localAddress', 'must be an IPv4 or IPv6 address of this machine');
  for (const key of ['maxConnections', 'maxMessagesPerConnection', 'connectionTimeoutMs', 'greetingTimeoutMs', 'socketTimeoutMs'] as const) {
    const v = c[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw fail(key, 'must be a positive whole number');
  }
  if (c.auth !== undefined) {
    if (typeof c.auth.user !== 'string' || !/^[^\r\n]+$/.test(c.auth.user)) throw fail('auth.user', 'is required and must be a single line');
    if (typeof c.auth.pass !== 'string' || !/^[^\r\n]+$/.test(c.auth.pass)) throw fail('auth.pass', 'is required and must be a single line');
    // A stripped STARTTLS would otherwise hand the password to anyone on the path.
    if (!c.secure && c.starttls !== 'require' && !isLoopback(c.host)) {
      throw fail('starttls', "must be 'require' (or secure: true) when auth is set, so that the password never crosses the network in clear text");
    }
  }
}

// One bare address (local@domain, UTF-8 allowed) per side: the address goes into `MAIL FROM:<…>`
// and `RCPT TO:<…>` as it is, so "a@x>\r\nRCPT TO:<eve@y" would otherwise add a recipient.
const ENVELOPE_ADDRESS = /^[^\s<>(),;:"\\[\]@\x00-\x1f\x7f]{1,64}@[^\s<>(),;:"\\[\]@\x00-\x1f\x7f]{1,255}$/;

function envelopeProblem(envelope: OutgoingMail['envelope']): string | null {
  for (const side of ['from', 'to'] as const) {
    const value = envelope[side];
    if (typeof value !== 'string' || !ENVELOPE_ADDRESS.test(value)) {
      return `envelope.${side} ${JSON.stringify(String(value).slice(0, 100))} is not one address like local@domain (no spaces, brackets, commas, quotes or line breaks)`;
    }
  }
  return null;
}

function isPort(v: unknown): boolean {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
}

function isEhloName(name: string): boolean {
  if (/^\[(?:IPv6:)?[0-9A-Fa-f:.]+\]$/.test(name)) return true;
  return name.length <= 253 && /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// The password as it could appear in any text: plain, and base64 as AUTH LOGIN and PLAIN send it.
function secretFormsOf(user: string, pass: string): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return [pass, b64(pass), b64(`\u0000${user}\u0000${pass}`)];
}
