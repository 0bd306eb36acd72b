import { isIP } from 'node:net';
import { createTransport } from 'nodemailer';
import type { SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import { AppError } from '../../lib/errors.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../ports/mail-transport.ts';
import { resultOfSmtpError, resultOfSmtpReply, type SmtpErrorContext } from './smtp-results.ts';

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

/**
 * The SMTP transport: nodemailer's connection pool sending the already signed message byte for
 * byte (`raw`) with our envelope. Every outcome is a SendResult; nothing here throws per message.
 */
export function createSmtpTransport(config: SmtpTransportConfig): MailTransport {
  checkSmtpConfig(config);
  const c = { ...DEFAULTS, ...config };
  const options: SMTPPoolOptions & { pool: true } = {
    pool: true,
    host: c.host,
    port: c.port,
    secure: c.secure,
    requireTLS: !c.secure && c.starttls === 'require',
    opportunisticTLS: !c.secure && c.starttls === 'opportunistic',
    name: c.name,
    maxConnections: c.maxConnections,
    maxMessages: c.maxMessagesPerConnection,
    connectionTimeout: c.connectionTimeoutMs,
    greetingTimeout: c.greetingTimeoutMs,
    socketTimeout: c.socketTimeoutMs,
    // Opportunistic TLS verifies nothing by default (RFC 7435, Postfix's `may`): an unverified
    // encryption beats the clear text it would otherwise fall back to, and a local MTA's
    // self-signed certificate must not stop the mail. `require` and implicit TLS verify.
    tls: { ...c.tls, rejectUnauthorized: c.tls?.rejectUnauthorized ?? (c.secure || c.starttls === 'require') },
    // The message is a finished Buffer: nodemailer must never read files or URLs for us.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
    ...(c.localAddress ? { localAddress: c.localAddress } : {}),
    ...(c.auth ? { auth: { user: c.auth.user, pass: c.auth.pass } } : {}),
  };
  const mailer = createTransport(options);
  // The pool reports per message through sendMail; a stray 'error' must not crash the process.
  mailer.on('error', () => {});
  const context: SmtpErrorContext = {
    endpoint: `${c.host}:${c.port}`,
    localAddress: c.localAddress,
    user: c.auth?.user,
    secrets: c.auth ? secretFormsOf(c.auth.user, c.auth.pass) : [],
    timeouts: { connect: c.connectionTimeoutMs, greeting: c.greetingTimeoutMs, socket: c.socketTimeoutMs },
  };
  const inFlight = new Set<Promise<SendResult>>();
  let closed = false;

  async function deliver(mail: OutgoingMail): Promise<SendResult> {
    const problem = envelopeProblem(mail.envelope);
    if (problem) return { status: 'failed', response: `message not sendable: ${problem}` };
    try {
      const info = await mailer.sendMail({ envelope: { from: mail.envelope.from, to: [mail.envelope.to] }, raw: mail.raw });
      return resultOfSmtpReply(info.response, info.serverMessageId, context);
    } catch (err) {
      return resultOfSmtpError(err, context);
    }
  }

  return {
    name: 'smtp',
    send(mail) {
      if (closed) return Promise.resolve({ status: 'deferred', response: 'transport closed before the message was sent' });
      const sending = deliver(mail);
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
      return sending;
    },
    // Idle connections close at once; one in the middle of a message finishes it first (a cut
    // would leave the server's 250 unheard, and the message would go out twice).
    async close() {
      closed = true;
      mailer.close();
      await Promise.allSettled([...inFlight]);
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

// One bare address (local@domain, UTF-8 allowed) per side. nodemailer would parse anything else as
// an address list: "a@x, eve@y" or "a@x>\r\nRCPT TO:<eve@y" would quietly add a recipient.
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
