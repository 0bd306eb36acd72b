import type { SendResult } from '../../ports/mail-transport.ts';
import type { SmtpFault, SmtpOutcome, SmtpReply } from './smtp-protocol.ts';

/** What a response text may name about the transport, and the secrets it must never contain. */
export interface SmtpErrorContext {
  endpoint: string;
  localAddress: string | undefined;
  user: string | undefined;
  /** The password in every form it could be echoed in; replaced wherever it appears. */
  secrets: string[];
  timeouts: { connect: number; greeting: number; socket: number };
}

const MAX_TEXT = 500;

/**
 * Maps what became of one message to a SendResult. A 4xx reply is deferred; a 5xx reply to MAIL,
 * RCPT, DATA or the message is failed (the domain tells a hard bounce from a full mailbox by
 * `enhanced`); every fault of the session (network, timeout, TLS, AUTH, refused greeting) is
 * deferred: it is not the message's fault, and it is retried once the server or the settings are
 * mended.
 */
export function resultOfSmtpOutcome(outcome: SmtpOutcome, ctx: SmtpErrorContext): SendResult {
  switch (outcome.kind) {
    case 'accepted':
      return resultOfSmtpReply(outcome.reply, ctx);
    case 'refused':
      return resultOfRefusal(outcome.step, outcome.reply, ctx);
    case 'unsendable':
      // Refused before a byte left (a size over the server's SIZE, an address that needs SMTPUTF8
      // from a server without it): retrying the same message can only end the same way.
      return { status: 'failed', response: clean(`message not sendable: ${outcome.reason}`, ctx) };
    case 'fault':
      return resultOfSmtpFault(outcome.fault, ctx);
  }
}

/**
 * The server's 250 to the final dot. Its queue id (Postfix `queued as 4F1Zx…`, Exim `id=…`, or
 * the Message-ID Outlook and SES put there) is what its logs and bounces name the message by.
 */
export function resultOfSmtpReply(reply: SmtpReply, ctx: SmtpErrorContext): SendResult {
  const text = clean(reply.text, ctx);
  const queueId = /\bqueued as ([A-Za-z0-9]+)/i.exec(text)?.[1] ?? /\bid=([A-Za-z0-9-]+)/.exec(text)?.[1] ?? /<([^<>\s]+@[^<>\s]+)>/.exec(text)?.[1];
  return { status: 'sent', providerMessageId: queueId ?? text, response: text };
}

function resultOfRefusal(step: 'MAIL FROM' | 'RCPT TO' | 'DATA' | 'end of DATA', reply: SmtpReply, ctx: SmtpErrorContext): SendResult {
  const text = `${clean(reply.text, ctx)} (at ${step})`.slice(0, MAX_TEXT);
  const status = { code: reply.code, ...(reply.enhanced ? { enhanced: reply.enhanced } : {}) };
  if (reply.code >= 400 && reply.code < 500) return { status: 'deferred', response: text, ...status };
  // 530/538 (RFC 4954, "authenticate / STARTTLS first") are about our settings, not the message.
  if (reply.code === 530 || reply.code === 538) {
    return { status: 'deferred', response: clean(`${ctx.endpoint} requires authentication or TLS first, check the transport's auth and starttls settings: ${reply.text}`, ctx) };
  }
  // 503 is a confused session (bad sequence), not a verdict on the message.
  if (reply.code === 503 || reply.code < 400) return { status: 'deferred', response: clean(`${ctx.endpoint} answered out of sequence: ${reply.text} (at ${step})`, ctx) };
  return { status: 'failed', response: text, ...status };
}

/**
 * A broken session → deferred, in words an operator can act on. A 4xx refusal of the session
 * (a greeting of `421 4.7.0 too many connections`) keeps its code: the send gate slows down on it.
 */
export function resultOfSmtpFault(fault: SmtpFault, ctx: SmtpErrorContext): SendResult {
  const response = clean(describeFault(fault, ctx), ctx);
  if (fault.kind === 'reply' && fault.reply.code >= 400 && fault.reply.code < 500) {
    return { status: 'deferred', response, code: fault.reply.code, ...(fault.reply.enhanced ? { enhanced: fault.reply.enhanced } : {}) };
  }
  return { status: 'deferred', response };
}

function describeFault(fault: SmtpFault, ctx: SmtpErrorContext): string {
  const where = ctx.endpoint;
  switch (fault.kind) {
    case 'timeout':
      switch (fault.step) {
        case 'connect':
          return `no connection to ${where} within ${ctx.timeouts.connect} ms`;
        case 'greeting':
          return `no greeting from ${where} within ${ctx.timeouts.greeting} ms`;
        case 'TLS':
          return `TLS handshake with ${where} did not finish within ${ctx.timeouts.greeting} ms`;
        default:
          return `${where} stopped answering for ${ctx.timeouts.socket} ms (socket timeout) at ${fault.step}${inMessage(fault.step) ? '; the message was not confirmed' : ''}`;
      }
    case 'tls':
      return `TLS with ${where} failed: ${fault.message}${fault.code ? ` (${fault.code})` : ''}`;
    case 'reply':
      switch (fault.step) {
        case 'STARTTLS':
          return `${where} refused STARTTLS, which this transport requires (starttls: 'require'): ${fault.reply.text}`;
        case 'AUTH':
          return `authentication to ${where} as "${ctx.user ?? ''}" failed: ${fault.reply.text}; check the transport's credentials`;
        default:
          return `${where} refused the session at ${fault.step}: ${fault.reply.text}`;
      }
    case 'protocol':
      return `${where} broke the SMTP protocol at ${fault.step}: ${fault.message}`;
    case 'network':
      return describeNetworkFault(fault, ctx);
  }
}

function describeNetworkFault(fault: Extract<SmtpFault, { kind: 'network' }>, ctx: SmtpErrorContext): string {
  const where = ctx.endpoint;
  const code = fault.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve ${where}: ${fault.message}`;
  if (code === 'ECONNREFUSED') return `connection refused by ${where}`;
  if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE') return `cannot send from local address ${ctx.localAddress ?? '(any)'} (${code}): is it configured on this machine?`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${where} is unreachable (${code})`;
  if (code === 'ETIMEDOUT') return `no connection to ${where} (${code})`;
  const reset = code === 'ECONNRESET' || code === 'EPIPE';
  if (inMessage(fault.step)) return reset ? `connection reset by ${where} before it answered the message (${code})` : code ? `connection to ${where} failed before it answered the message: ${fault.message} (${code})` : `connection closed by ${where} before it answered the message`;
  if (reset) return `connection reset by ${where} at ${fault.step} (${code})`;
  return code ? `connection to ${where} failed at ${fault.step}: ${fault.message} (${code})` : `connection closed by ${where} at ${fault.step}`;
}

function inMessage(step: SmtpFault['step']): boolean {
  return step === 'MAIL FROM' || step === 'RCPT TO' || step === 'DATA' || step === 'end of DATA';
}

// One line, bounded, and without the password in any form.
function clean(text: string, ctx: SmtpErrorContext): string {
  let out = text.replace(/\s*\r?\n\s*/g, ' / ').trim();
  for (const s of ctx.secrets) if (s) out = out.split(s).join('[redacted]');
  return out.slice(0, MAX_TEXT);
}
