import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { createMemoryRateLimiter } from '../../lib/rate-limiter.ts';
import type { BounceMailSink } from '../../ports/bounce-mail.ts';

// The SMTP server for the VERP bounce domain (its MX, or Postfix's transport for it, points here).
// It takes mail only for its own domains and local parts (no open relay), limits message size
// and connections per IP, offers no AUTH, and answers 250 only once a message is stored. A message
// it cannot read is still a 250 (kept as unmatched): a bounce must never bounce back.

export interface BounceReceiverOptions {
  host: string;
  port: number;
  /** Largest message taken, in bytes (default 10 MB); larger ones get 552 5.3.4 and are not stored. */
  maxBytes?: number;
  /** New connections a minute from one IP address (default 60). */
  connectionsPerMinute?: number;
  /** A certificate to offer STARTTLS with; without one STARTTLS is not offered. */
  tls?: { key: Buffer | string; cert: Buffer | string } | null;
  /** The name in the greeting (default this machine's host name). */
  serverName?: string;
  /** An idle client is dropped after this long (default 60 s). */
  socketTimeoutMs?: number;
}

/** A running receiver: the port it listens on (useful with port 0) and a graceful close. */
export interface BounceReceiver {
  port: number;
  close(): Promise<void>;
}

/** Why a recipient is taken, or the SMTP refusal for it. */
export type RecipientCheck = { ok: true; kind: 'feedback' | 'unsubscribe' } | { ok: false; code: number; message: string };

const MAX_RECIPIENTS = 20;

/** Local parts that take feedback: VERP bounces, plain bounces (feedback loops registered to it), and the role addresses RFC 5321 and 2142 ask for. */
const FEEDBACK_LOCAL = /^(bounces(\+[^@]+)?|fbl|abuse|postmaster)$/i;

/**
 * Checks one RCPT TO: another domain is relaying (refused), an unknown local part or a forged
 * unsubscribe token is an unknown user.
 */
export function checkRecipient(address: string, domains: readonly string[], tokenIsValid: (token: string) => boolean): RecipientCheck {
  const at = address.lastIndexOf('@');
  const local = at > 0 ? address.slice(0, at) : address;
  const domain = at > 0 ? address.slice(at + 1).toLowerCase().replace(/\.$/, '') : '';
  if (!domains.some((d) => d.toLowerCase() === domain)) return { ok: false, code: 550, message: '5.7.1 Relay access denied: this server takes mail only for its bounce domain' };
  if (FEEDBACK_LOCAL.test(local)) return { ok: true, kind: 'feedback' };
  const unsubscribe = /^unsubscribe\+(.+)$/i.exec(local);
  if (unsubscribe && tokenIsValid(unsubscribe[1]!)) return { ok: true, kind: 'unsubscribe' };
  return { ok: false, code: 550, message: '5.1.1 No such user here' };
}

/** Starts the receiver; resolves once it listens. */
export async function startBounceReceiver(sink: BounceMailSink, opts: BounceReceiverOptions): Promise<BounceReceiver> {
  const maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
  const perIp = createMemoryRateLimiter(sink.clock, opts.connectionsPerMinute ?? 60, 60_000);
  const inFlight = new Set<Promise<unknown>>();
  const refuse = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });
  const log = sink.logger.child({ component: 'bounce-receiver' });

  const server = new SMTPServer({
    name: opts.serverName ?? hostname(),
    banner: 'Chapar bounce receiver',
    logger: false,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    maxClients: 100,
    socketTimeout: opts.socketTimeoutMs ?? 60_000,
    closeTimeout: 10_000,
    onConnect(session, callback) {
      if (perIp.take(session.remoteAddress)) return callback();
      log.warn({ ip: session.remoteAddress }, 'too many connections from one address');
      callback(refuse(421, '4.7.0 Too many connections from your address, try again later'));
    },
    onMailFrom(address: SMTPServerAddress, _session, callback) {
      // The limit is ours rather than smtp-server's `size` option (whose refusal has no 5.3.4), so
      // SIZE is not advertised; a client that declares one anyway is answered here.
      const args = address.args as Record<string, string> | false | undefined;
      const declared = Number((args && args.SIZE) ?? 0);
      if (declared > maxBytes) return callback(refuse(552, `5.3.4 Message size exceeds fixed maximum message size (${maxBytes} bytes)`));
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      // A bounce has one recipient; a long list is someone probing for addresses.
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) return callback(refuse(452, '4.5.3 Too many recipients'));
      sink.domains().then(
        (domains) => {
          const check = checkRecipient(address.address, domains, (t) => sink.isUnsubscribeToken(t));
          callback(check.ok ? undefined : refuse(check.code, check.message));
        },
        (err: unknown) => {
          log.error({ err }, 'could not read the bounce domain');
          callback(refuse(451, '4.3.0 Temporary failure, try again later'));
        },
      );
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const work = readUpTo(stream, maxBytes).then(async (raw) => {
        if (!raw) return callback(refuse(552, `5.3.4 Message size exceeds fixed maximum message size (${maxBytes} bytes)`));
        try {
          await sink.take({ raw, recipients: session.envelope.rcptTo.map((r) => r.address), remoteAddress: session.remoteAddress ?? null });
          callback(null, '2.0.0 Ok: stored');
        } catch (err) {
          log.error({ err }, 'could not store feedback mail');
          callback(refuse(451, '4.3.0 Temporary failure storing the message, try again later'));
        }
      }, (err: unknown) => {
        log.warn({ err }, 'the message stream failed');
        callback(refuse(451, '4.3.0 Temporary failure reading the message, try again later'));
      });
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    },
  });
  server.on('error', (err) => log.warn({ err }, 'bounce receiver connection error'));

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  log.info({ host: opts.host, port }, 'bounce receiver listening');
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * The message bytes, or null when it is over the limit. Past the limit the rest is read and
 * dropped (the client must finish DATA to hear the refusal) but never kept.
 */
function readUpTo(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else chunks.length = 0;
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks, size)));
  });
}
