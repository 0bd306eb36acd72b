import aws4 from 'aws4';
import { systemClock, type Clock } from '../../lib/clock.ts';
import type { MailTransport, OutgoingMail, SendResult } from '../../ports/mail-transport.ts';
import { labelsOf } from './esp-labels.ts';
import { checkEspSettings, configError, DEFAULT_TIMEOUT_MS } from './esp-settings.ts';
import { exchangeWithProvider, parseJsonBody, sendResultOf, type ProviderReading } from './http-results.ts';

export interface SesConfig {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** For temporary credentials (an assumed role). */
  sessionToken?: string;
  /** Needed for event publishing: only then do the email tags come back in SES events. */
  configurationSet?: string;
  /** Overrides https://email.<region>.amazonaws.com (tests, VPC endpoints). */
  baseUrl?: string;
  timeoutMs?: number;
  clock?: Clock;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const CONFIG_SET = /^[A-Za-z0-9_-]{1,64}$/;
// SES tag names and values: [A-Za-z0-9_-], at most 256 characters.
const TAG_UNSAFE = /[^A-Za-z0-9_-]/g;
// Refusals of the account, not of the message (SES v2 SendEmail errors): keep the message for later.
const ACCOUNT_ERRORS = new Set(['AccountSuspendedException', 'SendingPausedException', 'MailFromDomainNotVerifiedException', 'LimitExceededException']);

/**
 * Sends the signed MIME through Amazon SES v2 `SendEmail` as raw content, signed with AWS
 * Signature Version 4 (service `ses`). The provider id is SES's `MessageId`, which its events
 * carry as `mail.messageId` (SES rewrites the Message-ID header itself).
 */
export function createSesTransport(config: SesConfig): MailTransport {
  checkEspSettings('ses', config, { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}) });
  if (typeof config.region !== 'string' || !REGION.test(config.region)) throw configError('ses', 'region', 'must be an AWS region such as eu-west-1');
  if (config.configurationSet !== undefined && !CONFIG_SET.test(config.configurationSet)) throw configError('ses', 'configurationSet', 'must be 1-64 letters, digits, "_" or "-"');

  const origin = new URL(config.baseUrl ?? `https://email.${config.region}.amazonaws.com`);
  const path = '/v2/email/outbound-emails';
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = config.clock ?? systemClock;
  const credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}) };
  const reading: ProviderReading = {
    provider: 'ses',
    secrets: [config.secretAccessKey, ...(config.sessionToken ? [config.sessionToken] : [])],
    messageIdOf: ({ body }) => {
      const id = (parseJsonBody(body) as { MessageId?: unknown } | undefined)?.MessageId;
      return typeof id === 'string' && id !== '' ? id : null;
    },
    errorOf: ({ headers, body }) => {
      const type = sesErrorType(headers, body);
      const json = parseJsonBody(body) as { message?: unknown; Message?: unknown } | undefined;
      const message = json?.message ?? json?.Message;
      if (typeof message !== 'string') return type;
      return type ? `${type}: ${message}` : message;
    },
    needsOperator: ({ headers, body }) => ACCOUNT_ERRORS.has(sesErrorType(headers, body) ?? ''),
  };

  return {
    name: 'ses',
    async send(mail: OutgoingMail): Promise<SendResult> {
      const body = JSON.stringify(sesSendEmailRequest(mail, config.configurationSet));
      // The signing time comes from the injected clock (aws4 reads X-Amz-Date when it is set).
      const signed = aws4.sign({
        host: origin.host,
        path,
        method: 'POST',
        service: 'ses',
        region: config.region,
        body,
        headers: { 'Content-Type': 'application/json', 'X-Amz-Date': amzDate(clock.now()) },
      }, credentials);
      // fetch writes Host and Content-Length itself, with the values that were signed.
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(signed.headers ?? {})) {
        if (!/^(host|content-length)$/i.test(name)) headers[name] = String(value);
      }
      const exchange = await exchangeWithProvider(`${origin.origin}${path}`, { method: 'POST', headers, body }, timeoutMs);
      return sendResultOf(exchange, reading, clock);
    },
    async close() {},
  };
}

/** The SendEmail body: raw content, envelope addresses, configuration set, tags with our ref. */
export function sesSendEmailRequest(mail: OutgoingMail, configurationSet: string | undefined): Record<string, unknown> {
  return {
    FromEmailAddress: mail.envelope.from,
    Destination: { ToAddresses: [mail.envelope.to] },
    Content: { Raw: { Data: mail.raw.toString('base64') } },
    EmailTags: Object.entries(labelsOf(mail)).map(([name, value]) => ({ Name: tagText(name), Value: tagText(value) })),
    ...(configurationSet ? { ConfigurationSetName: configurationSet } : {}),
  };
}

function tagText(s: string): string {
  return (s.replace(TAG_UNSAFE, '_') || '_').slice(0, 256);
}

/** `20260101T000000Z`, the SigV4 timestamp format. */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

// rest-json services name the error in `x-amzn-ErrorType` (`Name:http://…`) or the body's `__type`.
function sesErrorType(headers: Headers, body: string): string | null {
  const header = headers.get('x-amzn-errortype');
  if (header) return header.split(':')[0] ?? null;
  const type = (parseJsonBody(body) as { __type?: unknown } | undefined)?.__type;
  return typeof type === 'string' ? (type.split('#').pop() ?? null) : null;
}
