import { isAscii } from 'node:buffer';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { connect as tlsConnect } from 'node:tls';

// Hand-written rather than nodemailer's SMTPConnection + SMTPPool because of measured cost. The
// message is already a finished, signed Buffer; nodemailer's DataStream dot-stuffs it byte by byte
// in JavaScript, and its pool adds a queue and event machinery per message: in `npm run bench:send`
// it was the largest part of the delivery process's main thread. bench/smtp-client.ts (20 KB
// messages to smtp-sink, 16 connections, one run, load ~2) measured 0.47 ms of CPU per message and
// 1,689 msg/s for nodemailer's pool, 0.096 ms and 5,346 msg/s for this client and the pool in
// smtp.ts. This one dot-stuffs with Buffer.indexOf, pipelines MAIL/RCPT/DATA and writes each
// message in one writev.

import type { SmtpClientOptions, SmtpFault, SmtpOutcome, SmtpReply, SmtpStep } from './smtp-protocol.ts';

/** Opens a session: connect, TLS, greeting, EHLO, STARTTLS, AUTH. A fault is a value, not a throw. */
export async function openSmtpConnection(options: SmtpClientOptions): Promise<{ ok: true; connection: SmtpConnection } | { ok: false; fault: SmtpFault }> {
  const connection = new SmtpConnection(options);
  try {
    await connection.start();
    return { ok: true, connection };
  } catch (err) {
    if (err instanceof FaultSignal) return { ok: false, fault: err.fault };
    connection.destroy();
    throw err;
  }
}

class FaultSignal extends Error {
  constructor(readonly fault: SmtpFault) {
    super(fault.kind);
  }
}

interface ReplyWait {
  steps: SmtpStep[];
  got: SmtpReply[];
  resolve: (replies: SmtpReply[]) => void;
  reject: (err: FaultSignal) => void;
}

const MAX_LINE = 4096;
const MAX_LINES = 1000;
const LF_DOT = Buffer.from('\n.');
const DOT = Buffer.from('.');
const END_AFTER_CRLF = Buffer.from('.\r\n');
const END_WITH_CRLF = Buffer.from('\r\n.\r\n');

/** One SMTP session over which messages go one after another. */
export class SmtpConnection {
  /** Transactions begun on this connection (accepted or not). */
  transactions = 0;
  private socket: Socket | null = null;
  private readonly decoder = new StringDecoder('utf8');
  private buffered = '';
  private lines: string[] = [];
  private repliesSeen = 0;
  private waiting: ReplyWait[] = [];
  // A wait for a socket event (TCP connect, TLS handshake), failed by a fault like a reply wait.
  private event: { step: SmtpStep; reject: (err: FaultSignal) => void } | null = null;
  private fault: SmtpFault | null = null;
  private closing = false;
  private extensions = new Map<string, string>();
  private readonly closeWaiters: Array<() => void> = [];
  private closed = false;
  private greeted = false;
  private detach: (() => void) | null = null;
  /** Called once when the socket is gone, however that happened. */
  onClose: (() => void) | null = null;

  constructor(private readonly o: SmtpClientOptions) {}

  /** False once the session broke, the server said it is closing (421), or QUIT was sent. */
  get usable(): boolean {
    return this.fault === null && !this.closing;
  }

  async start(): Promise<void> {
    const o = this.o;
    await this.untilEvent('connect', o.connectionTimeoutMs, (done) => {
      const socket = netConnect({ host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, done);
      socket.setNoDelay(true);
      this.detach = this.attach(socket);
    });
    if (o.secure) await this.upgrade();
    const [greeting] = await this.exchange(null, ['greeting'], o.greetingTimeoutMs);
    if (greeting!.code !== 220) throw this.failWith({ kind: 'reply', step: 'greeting', reply: greeting! });
    this.greeted = true;
    this.socket!.setTimeout(o.socketTimeoutMs);
    await this.hello();
    if (!o.secure && (this.extensions.has('STARTTLS') || o.starttls === 'require')) {
      const [reply] = await this.exchange('STARTTLS\r\n', ['STARTTLS']);
      if (reply!.code === 220) {
        await this.upgrade();
        await this.hello();
      } else if (o.starttls === 'require') {
        throw this.failWith({ kind: 'reply', step: 'STARTTLS', reply: reply! });
      } // opportunistic: a refused STARTTLS leaves the session in clear text
    }
    if (o.auth) await this.authenticate(o.auth);
  }

  /**
   * Sends one message: MAIL FROM, RCPT TO and DATA in one write when the server pipelines, then the
   * dot-stuffed message. After a refusal it sends RSET so the next message can use the session.
   */
  async send(from: string, to: string, raw: Buffer): Promise<SmtpOutcome> {
    if (this.fault) return { kind: 'fault', fault: this.fault, stale: false };
    if (raw.length === 0) return { kind: 'unsendable', reason: 'the message is empty' };
    let params = '';
    const size = this.extensions.get('SIZE');
    if (size !== undefined) {
      const max = Number(size);
      if (max > 0 && raw.length > max) return { kind: 'unsendable', reason: `the message is ${raw.length} bytes, more than the ${max} that ${this.o.host}:${this.o.port} accepts (SIZE)` };
      params += ` SIZE=${raw.length}`;
    }
    if (this.extensions.has('8BITMIME') && !isAscii(raw)) params += ' BODY=8BITMIME';
    if (/[^\x00-\x7f]/.test(from + to)) {
      if (!this.extensions.has('SMTPUTF8')) return { kind: 'unsendable', reason: `${this.o.host}:${this.o.port} does not offer SMTPUTF8, which the address ${/[^\x00-\x7f]/.test(from) ? from : to} needs` };
      params += ' SMTPUTF8';
    }
    const stale = this.transactions > 0;
    const seenBefore = this.repliesSeen;
    this.transactions++;
    try {
      return await this.transaction(`MAIL FROM:<${from}>${params}\r\n`, `RCPT TO:<${to}>\r\n`, raw);
    } catch (err) {
      if (!(err instanceof FaultSignal)) throw err;
      return { kind: 'fault', fault: err.fault, stale: stale && this.repliesSeen === seenBefore && err.fault.kind === 'network' };
    }
  }

  private async transaction(mail: string, rcpt: string, raw: Buffer): Promise<SmtpOutcome> {
    let replies: SmtpReply[];
    if (this.extensions.has('PIPELINING')) {
      replies = await this.exchange(mail + rcpt + 'DATA\r\n', ['MAIL FROM', 'RCPT TO', 'DATA']);
    } else {
      replies = await this.exchange(mail, ['MAIL FROM']);
      if (isPositive(replies[0]!)) replies.push(...(await this.exchange(rcpt, ['RCPT TO'])));
      if (isPositive(replies[1])) replies.push(...(await this.exchange('DATA\r\n', ['DATA'])));
    }
    const [m, r, d] = replies;
    if (!isPositive(m) || !isPositive(r) || d?.code !== 354) {
      const step = !isPositive(m) ? 'MAIL FROM' : !isPositive(r) ? 'RCPT TO' : 'DATA';
      const reply = (step === 'MAIL FROM' ? m : step === 'RCPT TO' ? r : d)!;
      if (step === 'DATA' && d && d.code < 400) throw this.failWith({ kind: 'protocol', step, message: `answered DATA with ${d.text}` });
      // A server that took DATA although every recipient was refused waits for a message: end it empty.
      if (d?.code === 354) await this.exchange('.\r\n', ['end of DATA']);
      await this.reset();
      return { kind: 'refused', step, reply };
    }
    this.writeMessage(raw);
    const [end] = await this.exchange(null, ['end of DATA']);
    return isPositive(end) ? { kind: 'accepted', reply: end! } : { kind: 'refused', step: 'end of DATA', reply: end! };
  }

  // Dot-stuffing (RFC 5321 §4.5.2): a dot that begins a line is doubled. The message's lines end
  // in CRLF, so every line start but the first follows a '\n'; indexOf finds them in native code.
  private writeMessage(raw: Buffer): void {
    const socket = this.socket!;
    const end = raw.length >= 2 && raw[raw.length - 2] === 13 && raw[raw.length - 1] === 10 ? END_AFTER_CRLF : END_WITH_CRLF;
    let at = raw.indexOf(LF_DOT);
    if (at === -1 && raw[0] !== 0x2e) {
      socket.cork();
      socket.write(raw);
      socket.write(end);
      socket.uncork();
      return;
    }
    const chunks: Buffer[] = raw[0] === 0x2e ? [DOT] : [];
    let from = 0;
    while (at !== -1) {
      chunks.push(raw.subarray(from, at + 2));
      from = at + 1; // the dot goes out again: doubled
      at = raw.indexOf(LF_DOT, at + 2);
    }
    chunks.push(raw.subarray(from), end);
    socket.write(Buffer.concat(chunks));
  }

  private async reset(): Promise<void> {
    if (!this.usable) return;
    const [reply] = await this.exchange('RSET\r\n', ['RSET']);
    if (!isPositive(reply)) this.closing = true; // a session that cannot reset is not reused
  }

  private async hello(): Promise<void> {
    const [ehlo] = await this.exchange(`EHLO ${this.o.name}\r\n`, ['EHLO']);
    this.extensions = new Map();
    if (ehlo!.code === 250) {
      for (const line of ehlo!.text.split('\n').slice(1)) {
        const [keyword, ...rest] = line.slice(4).trim().split(/[\s=]+/);
        if (!keyword) continue;
        const key = keyword.toUpperCase();
        const before = this.extensions.get(key);
        this.extensions.set(key, before ? `${before} ${rest.join(' ')}` : rest.join(' '));
      }
      return;
    }
    if (ehlo!.code < 500) throw this.failWith({ kind: 'reply', step: 'EHLO', reply: ehlo! });
    // An old server that does not know EHLO: HELO, and no extensions.
    const [helo] = await this.exchange(`HELO ${this.o.name}\r\n`, ['HELO']);
    if (helo!.code !== 250) throw this.failWith({ kind: 'reply', step: 'HELO', reply: helo! });
  }

  private async authenticate(auth: { user: string; pass: string }): Promise<void> {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const methods = (this.extensions.get('AUTH') ?? '').toUpperCase().split(' ');
    let reply: SmtpReply;
    if (methods.includes('LOGIN') && !methods.includes('PLAIN')) {
      [reply] = (await this.exchange('AUTH LOGIN\r\n', ['AUTH'])) as [SmtpReply];
      if (reply.code === 334) [reply] = (await this.exchange(`${b64(auth.user)}\r\n`, ['AUTH'])) as [SmtpReply];
      if (reply.code === 334) [reply] = (await this.exchange(`${b64(auth.pass)}\r\n`, ['AUTH'])) as [SmtpReply];
    } else {
      [reply] = (await this.exchange(`AUTH PLAIN ${b64(`\u0000${auth.user}\u0000${auth.pass}`)}\r\n`, ['AUTH'])) as [SmtpReply];
    }
    if (reply.code !== 235) throw this.failWith({ kind: 'reply', step: 'AUTH', reply });
  }

  // TLS over the connected socket, for STARTTLS and for implicit TLS alike.
  private async upgrade(): Promise<void> {
    const plain = this.socket!;
    this.detach?.();
    plain.setTimeout(0);
    plain.on('error', () => {}); // the TLS socket reports it
    const o = this.o;
    await this.untilEvent('TLS', o.greetingTimeoutMs, (done) => {
      const secure = tlsConnect(
        {
          socket: plain,
          host: o.host,
          ...(o.tls.servername ? { servername: o.tls.servername } : isIP(o.host) ? {} : { servername: o.host }),
          rejectUnauthorized: o.tls.rejectUnauthorized,
          ...(o.tls.ca ? { ca: o.tls.ca } : {}),
        },
        done,
      );
      this.detach = this.attach(secure);
    });
    if (this.greeted) this.socket!.setTimeout(o.socketTimeoutMs);
  }

  // Our listeners on a socket; returns what takes them off again (STARTTLS hands the socket over).
  private attach(socket: Socket): () => void {
    this.socket = socket;
    const listeners = {
      data: (chunk: Buffer) => this.onData(chunk),
      error: (err: NodeJS.ErrnoException) => {
        const step = this.step();
        const tls = step === 'TLS' || /CERT|SSL|TLS|SELF_SIGNED|ALTNAME/.test(err.code ?? '');
        this.failWith({ kind: tls ? 'tls' : 'network', step, code: err.code, message: err.message });
      },
      end: () => this.failWith({ kind: 'network', step: this.step(), code: undefined, message: 'closed by the server' }),
      close: () => {
        this.failWith({ kind: 'network', step: this.step(), code: undefined, message: 'closed' });
        if (this.closed) return;
        this.closed = true;
        for (const w of this.closeWaiters.splice(0)) w();
        this.onClose?.();
      },
      timeout: () => {
        if (this.waiting.length > 0 || this.event) this.failWith({ kind: 'timeout', step: this.step() });
        else void this.quit(); // idle too long: let it go
      },
    };
    for (const [event, fn] of Object.entries(listeners)) socket.on(event, fn);
    return () => {
      for (const [event, fn] of Object.entries(listeners)) socket.off(event, fn);
    };
  }

  private onData(chunk: Buffer): void {
    if (this.fault) return;
    this.buffered += this.decoder.write(chunk);
    let start = 0;
    for (let nl = this.buffered.indexOf('\n'); nl !== -1; nl = this.buffered.indexOf('\n', start)) {
      const line = this.buffered.slice(start, this.buffered.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      start = nl + 1;
      this.onLine(line);
      if (this.fault) return;
    }
    this.buffered = this.buffered.slice(start);
    if (this.buffered.length > MAX_LINE) this.failWith({ kind: 'protocol', step: this.step(), message: `a reply line longer than ${MAX_LINE} characters` });
  }

  private onLine(line: string): void {
    const code = Number(line.slice(0, 3));
    const sep = line.charAt(3);
    if (!/^[2-5]\d\d$/.test(line.slice(0, 3)) || (sep !== '' && sep !== ' ' && sep !== '-')) {
      this.failWith({ kind: 'protocol', step: this.step(), message: `not an SMTP reply: ${JSON.stringify(line.slice(0, 100))}` });
      return;
    }
    this.lines.push(line);
    if (sep === '-') {
      if (this.lines.length > MAX_LINES) this.failWith({ kind: 'protocol', step: this.step(), message: `a reply of more than ${MAX_LINES} lines` });
      return;
    }
    const reply: SmtpReply = { code, enhanced: enhancedOf(this.lines[0]!, code), text: this.lines.join('\n') };
    this.lines = [];
    this.repliesSeen++;
    const wait = this.waiting[0];
    if (!wait) {
      // Unasked (a 421 before an idle close, or the 221 to QUIT): this session is over.
      this.closing = true;
      return;
    }
    wait.got.push(reply);
    // 421: the server is closing the channel; the replies still awaited will never come.
    if (code === 421) this.closing = true;
    if (wait.got.length === wait.steps.length || code === 421) {
      this.waiting.shift();
      wait.resolve(wait.got);
    }
  }

  // Writes a command (or nothing, for the greeting and the final reply) and waits for the replies
  // of the given steps; `deadlineMs` overrides the socket timeout (the greeting's own deadline).
  private exchange(command: string | null, steps: SmtpStep[], deadlineMs?: number): Promise<SmtpReply[]> {
    if (this.fault) return Promise.reject(new FaultSignal(this.fault));
    if (this.closing) return Promise.reject(new FaultSignal({ kind: 'network', step: steps[0]!, code: undefined, message: 'the server is closing the connection' }));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (deadlineMs !== undefined) {
        timer = setTimeout(() => this.failWith({ kind: 'timeout', step: steps[0]! }), deadlineMs);
      }
      const clear = timer ? () => clearTimeout(timer) : null;
      this.waiting.push({
        steps,
        got: [],
        resolve: clear ? (r) => (clear(), resolve(r)) : resolve,
        reject: clear ? (e) => (clear(), reject(e)) : reject,
      });
      if (command !== null) this.socket!.write(command);
    });
  }

  private untilEvent(step: SmtpStep, deadlineMs: number, begin: (done: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.failWith({ kind: 'timeout', step }), deadlineMs);
      this.event = {
        step,
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      begin(() => {
        clearTimeout(timer);
        this.event = null;
        resolve();
      });
    });
  }

  private step(): SmtpStep {
    const wait = this.waiting[0];
    return this.event?.step ?? (wait ? wait.steps[wait.got.length] ?? 'idle' : 'idle');
  }

  // The first fault wins: it ends every wait and the socket. Returns a signal to throw.
  private failWith(fault: SmtpFault): FaultSignal {
    if (this.fault) return new FaultSignal(this.fault);
    this.fault = fault;
    const signal = new FaultSignal(fault);
    const waits = this.waiting.splice(0);
    const event = this.event;
    this.event = null;
    for (const w of waits) w.reject(signal);
    event?.reject(signal);
    this.socket?.destroy();
    return signal;
  }

  /** Says QUIT and waits (at most the greeting timeout) for the server to close; never throws. */
  quit(): Promise<void> {
    if (this.closed || !this.socket) return Promise.resolve();
    const socket = this.socket;
    if (this.usable && this.waiting.length === 0) {
      this.closing = true;
      socket.end('QUIT\r\n');
    } else {
      socket.destroy();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => (socket.destroy(), resolve()), this.o.greetingTimeoutMs);
      this.closeWaiters.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.failWith({ kind: 'network', step: this.step(), code: undefined, message: 'closed by the client' });
  }
}

function isPositive(reply: SmtpReply | undefined): boolean {
  return reply !== undefined && reply.code >= 200 && reply.code < 300;
}

/** RFC 3463 status at the start of a reply line, of the same class as the code: `550 5.1.1 …` → `5.1.1`. */
function enhancedOf(line: string, code: number): string | undefined {
  const status = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(line)?.[1];
  return status && status.charCodeAt(0) === 48 + Math.floor(code / 100) ? status : undefined;
}
