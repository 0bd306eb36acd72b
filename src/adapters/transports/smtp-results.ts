import type { SendResult } from '../../ports/mail-transport.ts';

/** What a response text may name about the transport, and the secrets it must never contain. */
export interface SmtpErrorContext {
  endpoint: string;
  localAddress: string | undefined;
  user: string | undefined;
  /** The password in every form it could be echoed in; replaced wherever it appears. */
  secrets: string[];
  timeouts: { connect: number; greeting: number; socket: number };
}

/** The fields nodemailer sets on its errors (smtp-connection `_formatError`, smtp-pool). */
interface NodemailerError {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  originalCode?: string;
  timeoutType?: string;
}

const MAX_TEXT = 500;

/**
 * The server's 250 to the final dot. Its queue id (Postfix `queued as 4F1Zx…`, Exim `id=…`, or
 * the Message-ID Outlook and SES put there) is what its logs and bounces name the message by.
 */
export function resultOfSmtpReply(response: string, serverMessageId: string | undefined, ctx: SmtpErrorContext): SendResult {
  const reply = clean(response, ctx);
  const queueId = /\bqueued as ([A-Za-z0-9]+)/i.exec(reply)?.[1] ?? /\bid=([A-Za-z0-9-]+)/.exec(reply)?.[1] ?? serverMessageId;
  return { status: 'sent', providerMessageId: queueId ?? reply, response: reply };
}

/**
 * Maps a nodemailer error to a SendResult. A 4xx reply is deferred; a 5xx reply to MAIL, RCPT or
 * the message is failed (the domain tells a hard bounce from a full mailbox by `enhanced`); every
 * fault of the session (network, timeout, TLS, AUTH, refused greeting) is deferred: it is not the
 * message's fault, and it is retried once the server or the settings are mended.
 */
export function resultOfSmtpError(error: unknown, ctx: SmtpErrorContext): SendResult {
  const err = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as NodemailerError;
  const code = err.responseCode;
  const reply = err.response ? clean(err.response, ctx) : undefined;
  const at = err.command && /^(MAIL FROM|RCPT TO|DATA)$/.test(err.command) ? ` (at ${err.command})` : '';
  if (code !== undefined && reply !== undefined) {
    const enhanced = enhancedOf(reply);
    const withStatus = { code, ...(enhanced ? { enhanced } : {}) };
    if (code >= 400 && code < 500) return { status: 'deferred', response: `${reply}${at}`.slice(0, MAX_TEXT), ...withStatus };
    // 530/538 (RFC 4954, "authenticate / STARTTLS first") are about our settings, not the message.
    if (code === 530 || code === 538) {
      return { status: 'deferred', response: clean(`${ctx.endpoint} requires authentication or TLS first, check the transport's auth and starttls settings: ${reply}`, ctx) };
    }
    // 503 is a confused session (bad sequence), not a verdict on the message.
    const aboutTheMessage = err.code === 'EENVELOPE' || err.code === 'EMESSAGE';
    if (code >= 500 && code < 600 && code !== 503 && aboutTheMessage) return { status: 'failed', response: `${reply}${at}`.slice(0, MAX_TEXT), ...withStatus };
  }
  // Refused before a byte left (an address with <, > or a line break, a size over the server's
  // SIZE): retrying the same message can only end the same way.
  if ((err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && code === undefined) {
    return { status: 'failed', response: clean(`message not sendable: ${err.message ?? err.code}`, ctx) };
  }
  return { status: 'deferred', response: clean(describeSessionFault(err, reply, ctx), ctx) };
}

/** A fault of the connection or session, in words an operator can act on. */
function describeSessionFault(err: NodemailerError, reply: string | undefined, ctx: SmtpErrorContext): string {
  const where = ctx.endpoint;
  const sys = err.originalCode;
  switch (err.code) {
    case 'ETIMEDOUT':
      switch (err.timeoutType) {
        case 'CONNECT_TIMEOUT':
          return `no connection to ${where} within ${ctx.timeouts.connect} ms`;
        case 'GREETING_TIMEOUT':
          return `no greeting from ${where} within ${ctx.timeouts.greeting} ms`;
        case 'UPGRADE_TIMEOUT':
          return `TLS handshake with ${where} did not finish within ${ctx.timeouts.greeting} ms`;
        default:
          return `${where} stopped answering for ${ctx.timeouts.socket} ms (socket timeout); the message was not confirmed`;
      }
    case 'ETLS':
      return reply
        ? `${where} refused STARTTLS, which this transport requires (starttls: 'require'): ${reply}`
        : `TLS with ${where} failed: ${err.message ?? 'unknown error'}`;
    case 'EAUTH':
      return `authentication to ${where} as "${ctx.user ?? ''}" failed${reply ? `: ${reply}` : `: ${err.message ?? ''}`}; check the transport's credentials`;
    case 'EDNS':
      return `cannot resolve ${where}: ${err.message ?? ''}`;
    case 'ESOCKET':
    case 'ECONNECTION':
      return describeConnectionFault(err, reply, ctx);
    case 'EPROTOCOL':
      return `${where} broke the SMTP protocol${reply ? `: ${reply}` : `: ${err.message ?? ''}`}`;
    default:
      if (/pool was closed/i.test(err.message ?? '')) return 'transport closed before the message was sent';
      return `${where}: ${err.message ?? 'unknown error'}${err.code ? ` (${err.code})` : ''}`;
  }

  function describeConnectionFault(e: NodemailerError, r: string | undefined, c: SmtpErrorContext): string {
    if (sys && /CERT|SSL|TLS|SELF_SIGNED|ALTNAME/.test(sys)) return `TLS with ${where} failed: ${e.message ?? sys} (${sys})`;
    if (sys === 'ECONNREFUSED') return `connection refused by ${where}`;
    if (sys === 'ECONNRESET' || sys === 'EPIPE') return `connection reset by ${where} before it answered the message (${sys})`;
    if (sys === 'EADDRNOTAVAIL' || sys === 'EADDRINUSE') return `cannot send from local address ${c.localAddress ?? '(any)'} (${sys}): is it configured on this machine?`;
    if (sys === 'EHOSTUNREACH' || sys === 'ENETUNREACH') return `${where} is unreachable (${sys})`;
    if (/maximum number of retries/i.test(e.message ?? '')) return `${where} kept closing connections before its greeting`;
    if (/pool was closed/i.test(e.message ?? '')) return 'transport closed before the message was sent';
    if (r) return `${where} closed the connection: ${r}`;
    if (/closed unexpectedly/i.test(e.message ?? '')) return `connection closed by ${where} before it answered the message`;
    return `connection to ${where} failed: ${e.message ?? ''}${sys ? ` (${sys})` : ''}`;
  }
}

/** RFC 3463 status at the start of a reply: `550 5.1.1 …` → `5.1.1`. */
function enhancedOf(reply: string): string | undefined {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(reply)?.[1];
}

// One line, bounded, and without the password in any form.
function clean(text: string, ctx: SmtpErrorContext): string {
  let out = text.replace(/\s*\r?\n\s*/g, ' / ').trim();
  for (const s of ctx.secrets) if (s) out = out.split(s).join('[redacted]');
  return out.slice(0, MAX_TEXT);
}
