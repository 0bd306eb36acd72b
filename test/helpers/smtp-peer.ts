import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/**
 * What the peer does with one recipient of a transaction, decided when its RCPT TO arrives.
 * `reply` answers `code text` (text starts with the enhanced status, e.g. `5.1.1 No such user`)
 * at RCPT or after the message's final dot; `close-mid-data` drops the TCP connection once it has
 * read `afterBytes` bytes of the message, without a reply; `stall` never answers, so the client's
 * socket timeout fires. With several recipients the first non-`accept` behaviour wins at DATA.
 */
export type PeerBehaviour =
  | { kind: 'accept'; delayMs?: number }
  | { kind: 'reply'; at: 'rcpt' | 'data'; code: number; text: string }
  | { kind: 'close-mid-data'; afterBytes?: number }
  | { kind: 'stall'; at: 'rcpt' | 'data' };

/** How the peer opens a session: a 220 greeting, a refusal (`421 4.7.0 …`) and close, or silence. */
export type PeerGreeting = { kind: 'greet' } | { kind: 'refuse'; code: number; text: string } | { kind: 'stall' };

/** One connection as the peer saw it; `secure` turns true after STARTTLS, `user` after AUTH. */
export interface PeerSession {
  id: string;
  remoteAddress: string;
  secure: boolean;
  user: string | null;
  openedAt: Date;
}

/** The recipient a behaviour is chosen for. */
export interface PeerRecipient {
  from: string;
  to: string;
  session: PeerSession;
}

/** A message the peer answered 250 to; `queueId` is the id in that reply (`Ok: queued as <id>`). */
export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  at: Date;
  /** The Message-ID header without angle brackets, or null when the message has none. */
  messageId: string | null;
  queueId: string;
  session: PeerSession;
}

export interface SmtpPeerOptions {
  /** Offer STARTTLS with the test certificate in test/fixtures/tls. */
  starttls?: boolean;
  /** TLS from the first byte (port 465 style) with the same certificate. */
  implicitTls?: boolean;
  /** Require AUTH with these credentials (over TLS when TLS is offered, else in clear text). */
  auth?: { user: string; pass: string; methods?: Array<'PLAIN' | 'LOGIN'> };
  behaviour?: (rcpt: PeerRecipient) => PeerBehaviour;
  greeting?: PeerGreeting;
}

export interface SmtpPeer {
  host: string;
  port: number;
  /** Every message accepted with a 250, in the order of the replies. */
  received: ReceivedMail[];
  /** Every connection the peer accepted, in order. */
  sessions: PeerSession[];
  /** The most connections that were open at one time. */
  readonly maxOpenSessions: number;
  /** How many times a message with this Message-ID (with or without <>) was accepted. */
  countOf(messageId: string): number;
  countsByMessageId(): Map<string, number>;
  setBehaviour(fn: (rcpt: PeerRecipient) => PeerBehaviour): void;
  setGreeting(greeting: PeerGreeting): void;
  /** Drops every open connection without a word, as a server ending idle sessions does. */
  dropConnections(): void;
  close(): Promise<void>;
}

const TLS_DIR = new URL('../fixtures/tls/', import.meta.url);
const acceptAll = (): PeerBehaviour => ({ kind: 'accept' });

/**
 * A real SMTP server (smtp-server) on 127.0.0.1 with a free port, whose answers each test chooses.
 * It counts what it accepted exactly: a message is recorded just before its 250 is written, so
 * a client that saw the 250 always finds the message in `received`.
 */
export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  let behaviour = options.behaviour ?? acceptAll;
  let greeting: PeerGreeting = options.greeting ?? { kind: 'greet' };
  const received: ReceivedMail[] = [];
  const counts = new Map<string, number>();
  const sessions = new Map<string, PeerSession>();
  // The behaviours of the current transaction's recipients, per connection.
  const planned = new Map<string, PeerBehaviour[]>();
  // Raw TCP sockets by remote address:port, to drop a connection without a word (close-mid-data).
  const sockets = new Map<string, Socket>();
  let open = 0;
  let maxOpen = 0;

  const tls = options.starttls || options.implicitTls;
  const auth = options.auth;
  const server = new SMTPServer({
    logger: false,
    name: 'peer.test',
    banner: 'chapar test peer',
    secure: !!options.implicitTls,
    ...(tls ? { key: readFileSync(new URL('localhost.key', TLS_DIR)), cert: readFileSync(new URL('localhost.crt', TLS_DIR)) } : {}),
    disabledCommands: [...(options.starttls ? [] : ['STARTTLS']), ...(auth ? [] : ['AUTH'])],
    authMethods: auth?.methods ?? ['PLAIN', 'LOGIN'],
    authOptional: !auth,
    // Without any TLS offered, AUTH must work in clear text or it could not be tested at all.
    allowInsecureAuth: !tls,
    size: 64 * 1024 * 1024,

    onConnect(session, callback) {
      const s: PeerSession = { id: session.id, remoteAddress: session.remoteAddress, secure: session.secure, user: null, openedAt: new Date() };
      sessions.set(session.id, s);
      open++;
      maxOpen = Math.max(maxOpen, open);
      if (greeting.kind === 'stall') return; // no 220, ever
      if (greeting.kind === 'refuse') return callback(replyError(greeting.code, greeting.text));
      callback();
    },
    onClose(session) {
      if (sessions.has(session.id)) open--;
      planned.delete(session.id);
    },
    onSecure(_socket, session, callback) {
      const s = sessions.get(session.id);
      if (s) s.secure = true;
      callback();
    },
    onAuth(attempt, session, callback) {
      if (auth && attempt.username === auth.user && attempt.password === auth.pass) {
        const s = sessions.get(session.id);
        if (s) s.user = attempt.username;
        return callback(null, { user: attempt.username });
      }
      callback(replyError(535, '5.7.8 Authentication credentials invalid'));
    },
    onMailFrom(_address, session, callback) {
      planned.set(session.id, []);
      callback();
    },
    onRcptTo(address, session, callback) {
      const s = sessionOf(session);
      const b = behaviour({ from: fromOf(session), to: address.address, session: s });
      if (b.kind === 'stall' && b.at === 'rcpt') return; // never answered
      if (b.kind === 'reply' && b.at === 'rcpt') return callback(replyError(b.code, b.text));
      planned.get(session.id)?.push(b);
      callback();
    },
    onData(stream, session, callback) {
      const plan = planned.get(session.id) ?? [];
      planned.set(session.id, []);
      const decisive = plan.find((b) => b.kind !== 'accept') ?? { kind: 'accept', delayMs: Math.max(0, ...plan.map((b) => (b.kind === 'accept' ? b.delayMs ?? 0 : 0))) };
      readMessage(stream, session, decisive, (raw) => {
        if (decisive.kind === 'stall') return; // never answered
        if (decisive.kind === 'reply') return callback(replyError(decisive.code, decisive.text));
        if (decisive.kind !== 'accept') return;
        const answer = () => {
          const queueId = randomBytes(5).toString('hex').toUpperCase();
          const messageId = messageIdOf(raw);
          received.push({
            envelope: { from: fromOf(session), to: session.envelope.rcptTo.map((r) => r.address) },
            raw,
            at: new Date(),
            messageId,
            queueId,
            session: sessionOf(session),
          });
          if (messageId) counts.set(messageId, (counts.get(messageId) ?? 0) + 1);
          callback(null, `2.0.0 Ok: queued as ${queueId}`);
        };
        if (decisive.delayMs) setTimeout(answer, decisive.delayMs);
        else answer();
      });
    },
  });

  // Reads the message; for close-mid-data, drops the connection once enough bytes came in.
  function readMessage(stream: SMTPServerDataStream, session: SMTPServerSession, b: PeerBehaviour, done: (raw: Buffer) => void) {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let dropped = false;
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (b.kind === 'close-mid-data' && !dropped && bytes >= (b.afterBytes ?? 1)) {
        dropped = true;
        sockets.get(`${session.remoteAddress}:${session.remotePort}`)?.destroy();
      }
    });
    stream.on('end', () => {
      if (!dropped) done(Buffer.concat(chunks, bytes));
    });
  }

  function sessionOf(session: SMTPServerSession): PeerSession {
    return sessions.get(session.id) ?? { id: session.id, remoteAddress: session.remoteAddress, secure: session.secure, user: null, openedAt: new Date() };
  }

  server.server.on('connection', (socket: Socket) => {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    sockets.set(key, socket);
    socket.on('close', () => sockets.delete(key));
  });
  server.on('error', () => {}); // client resets are expected in fault tests

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port,
    received,
    get sessions() {
      return [...sessions.values()];
    },
    get maxOpenSessions() {
      return maxOpen;
    },
    countOf: (messageId) => counts.get(messageId.replace(/[<>\s]/g, '')) ?? 0,
    countsByMessageId: () => new Map(counts),
    setBehaviour(fn) {
      behaviour = fn;
    },
    setGreeting(g) {
      greeting = g;
    },
    dropConnections() {
      for (const socket of sockets.values()) socket.destroy();
    },
    async close() {
      // Stalled sessions would otherwise hold server.close() for its 30 s grace period.
      for (const socket of sockets.values()) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function replyError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

function fromOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}

/** The Message-ID header of a raw message, unfolded, without angle brackets. */
export function messageIdOf(raw: Buffer): string | null {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? raw.length : end).toString('latin1').replace(/\r\n[ \t]+/g, ' ');
  const match = /^message-id:[ \t]*(.*)$/im.exec(head);
  const id = match?.[1]?.replace(/[<>\s]/g, '');
  return id ? id : null;
}
