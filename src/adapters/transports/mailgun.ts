import { systemClock, type Clock } from '../../lib/clock.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../ports/mail-transport.ts';
import { labelsOf } from './esp-labels.ts';
import { checkEspSettings, configError, DEFAULT_TIMEOUT_MS } from './esp-settings.ts';
import { exchangeWithProvider, parseJsonBody, sendResultOf, type ProviderReading } from './http-results.ts';

export interface MailgunConfig {
  apiKey: string;
  /** The sending domain as set up in Mailgun; it is part of the endpoint's path. */
  domain: string;
  region: 'us' | 'eu';
  /** Overrides the region's API origin (tests, proxies). */
  baseUrl?: string;
  timeoutMs?: number;
  clock?: Clock;
}

/** Mailgun keeps EU and US accounts apart: each region has its own API host. */
export function mailgunApiOrigin(region: 'us' | 'eu'): string {
  return region === 'eu' ? 'https://api.eu.mailgun.net' : 'https://api.mailgun.net';
}

// Mailgun's legacy docs allow 3 `o:tag` per message; every label also goes as a `v:` variable,
// which has no such limit and comes back in events as `user-variables`.
const MAX_TAGS = 3;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/**
 * Sends the already-signed MIME through Mailgun's `messages.mime` endpoint, so the DKIM signature
 * made here survives untouched. The provider id kept is the response `id` without its angle
 * brackets: that is how Mailgun's events show it (`message.headers.message-id`).
 */
export function createMailgunTransport(config: MailgunConfig): MailTransport {
  checkEspSettings('mailgun', config, { apiKey: config.apiKey });
  if (typeof config.domain !== 'string' || !DOMAIN.test(config.domain)) throw configError('mailgun', 'domain', 'must be the sending domain as set up in Mailgun, e.g. mg.example.com');
  if (config.region !== 'us' && config.region !== 'eu') throw configError('mailgun', 'region', 'must be "us" or "eu"');

  const origin = (config.baseUrl ?? mailgunApiOrigin(config.region)).replace(/\/$/, '');
  const url = `${origin}/v3/${encodeURIComponent(config.domain)}/messages.mime`;
  const basic = Buffer.from(`api:${config.apiKey}`).toString('base64');
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = config.clock ?? systemClock;
  const reading: ProviderReading = {
    provider: 'mailgun',
    secrets: [config.apiKey, basic],
    messageIdOf: ({ body }) => {
      const id = (parseJsonBody(body) as { id?: unknown } | undefined)?.id;
      return typeof id === 'string' && id !== '' ? id.replace(/^<|>$/g, '') : null;
    },
    errorOf: ({ body }) => {
      const message = (parseJsonBody(body) as { message?: unknown } | undefined)?.message;
      return typeof message === 'string' ? message : null;
    },
  };

  return {
    name: 'mailgun',
    async send(mail: OutgoingMail): Promise<SendResult> {
      const exchange = await exchangeWithProvider(url, { method: 'POST', headers: { authorization: `Basic ${basic}` }, body: mailgunForm(mail) }, timeoutMs);
      return sendResultOf(exchange, reading, clock);
    },
    async close() {},
  };
}

/** The multipart form of one message: recipient, raw MIME as a file, tags and variables. */
export function mailgunForm(mail: OutgoingMail): FormData {
  const form = new FormData();
  form.append('to', mail.envelope.to);
  // A Buffer is never backed by a SharedArrayBuffer here; the cast avoids copying the message.
  form.append('message', new Blob([mail.raw as Uint8Array<ArrayBuffer>], { type: 'message/rfc822' }), 'message.mime');
  for (const [key, value] of Object.entries(mail.tags).slice(0, MAX_TAGS)) form.append('o:tag', `${key}:${value}`);
  for (const [key, value] of Object.entries(labelsOf(mail))) form.append(`v:${key}`, value);
  return form;
}
