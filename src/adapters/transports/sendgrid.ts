import { systemClock, type Clock } from '../../lib/clock.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../ports/mail-transport.ts';
import { labelsOf } from './esp-labels.ts';
import { checkEspSettings, DEFAULT_TIMEOUT_MS } from './esp-settings.ts';
import { exchangeWithProvider, parseJsonBody, sendResultOf, type ProviderReading } from './http-results.ts';

export interface SendGridConfig {
  apiKey: string;
  /** Overrides https://api.sendgrid.com (EU subusers: https://api.eu.sendgrid.com; tests). */
  baseUrl?: string;
  timeoutMs?: number;
  clock?: Clock;
}

// Headers SendGrid will not take in `headers` (its mail_send spec): they come from the JSON fields
// or from SendGrid itself. Message-ID is left out too: SendGrid sets its own, and correlation uses
// the X-Message-Id answer and our custom arg instead.
const RESERVED_HEADERS = new Set(['x-sg-id', 'x-sg-eid', 'received', 'dkim-signature', 'content-type', 'content-transfer-encoding', 'to', 'from', 'subject', 'reply-to', 'cc', 'bcc', 'message-id']);
const MAX_CATEGORIES = 10;

/**
 * Sends through SendGrid's v3 mail send API. SendGrid builds the MIME itself from JSON, so this
 * adapter sends the message's parts, not its signed raw form: SendGrid signs with the domain
 * authenticated in the account.
 */
export function createSendGridTransport(config: SendGridConfig): MailTransport {
  checkEspSettings('sendgrid', config, { apiKey: config.apiKey });
  const url = `${(config.baseUrl ?? 'https://api.sendgrid.com').replace(/\/$/, '')}/v3/mail/send`;
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = config.clock ?? systemClock;
  const reading: ProviderReading = {
    provider: 'sendgrid',
    secrets: [config.apiKey],
    messageIdOf: ({ headers }) => headers.get('x-message-id') || null,
    errorOf: ({ body }) => sendGridErrors(parseJsonBody(body)),
  };

  return {
    name: 'sendgrid',
    async send(mail: OutgoingMail): Promise<SendResult> {
      const exchange = await exchangeWithProvider(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(sendGridRequest(mail)),
      }, timeoutMs);
      return sendResultOf(exchange, reading, clock);
    },
    async close() {},
  };
}

/** The v3 mail send body of one message: one personalization, text before HTML as SendGrid requires. */
export function sendGridRequest(mail: OutgoingMail): Record<string, unknown> {
  const p = mail.parts;
  const content = [
    ...(p.text !== '' ? [{ type: 'text/plain', value: p.text }] : []),
    ...(p.html !== '' ? [{ type: 'text/html', value: p.html }] : []),
  ];
  const headers = Object.fromEntries(p.headers.filter(([name]) => !RESERVED_HEADERS.has(name.toLowerCase())));
  const categories = Object.entries(mail.tags).map(([k, v]) => `${k}:${v}`).slice(0, MAX_CATEGORIES);
  return {
    personalizations: [{ to: [{ email: p.to }] }],
    from: p.from.name !== '' ? { email: p.from.address, name: p.from.name } : { email: p.from.address },
    ...(p.replyTo ? { reply_to: { email: p.replyTo } } : {}),
    subject: p.subject,
    content,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    custom_args: labelsOf(mail),
    ...(categories.length > 0 ? { categories } : {}),
  };
}

// 400 answers carry {"errors":[{"message","field","help"}]}; 401 and 403 the same without field.
function sendGridErrors(json: unknown): string | null {
  const errors = (json as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  return errors
    .map((e: { message?: unknown; field?: unknown }) => (typeof e?.field === 'string' && e.field !== '' ? `${e.field}: ${String(e.message)}` : String(e?.message)))
    .join('; ');
}
