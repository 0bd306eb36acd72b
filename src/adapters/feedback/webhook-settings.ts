import { createPublicKey, type KeyObject } from 'node:crypto';
import type { TransportDefinition } from '../../domain/transports.ts';
import { configError } from '../transports/esp-settings.ts';

// Where each ESP transport keeps what its webhook is checked with. Mailgun's HTTP webhook signing
// key is a secret (`secrets.webhookSigningKey`); SendGrid's public key is not one and is a setting
// (`webhookPublicKey`); SES through SNS needs the topic ARNs allowed to post (`snsTopicArns`) and,
// only if the operator insists, `acceptUnsignedRawDelivery`.

/** The webhook settings each ESP kind takes besides its sending settings. */
export const WEBHOOK_SETTINGS = {
  mailgun: [] as string[],
  sendgrid: ['webhookPublicKey'],
  ses: ['snsTopicArns', 'acceptUnsignedRawDelivery'],
} as const;

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/**
 * Checks a transport's webhook settings when it is saved, so a pasted key that is not one is
 * refused then, not when the first event arrives. Throws config_invalid naming the setting.
 */
export function checkWebhookSettings(def: Pick<TransportDefinition, 'kind' | 'settings' | 'secrets'>): void {
  const s = def.settings;
  if (def.kind === 'mailgun' && def.secrets.webhookSigningKey !== undefined) {
    const key = def.secrets.webhookSigningKey;
    if (typeof key !== 'string' || key.trim() === '' || /[\r\n]/.test(key)) throw configError('mailgun', 'webhookSigningKey', 'must be a single line: the HTTP webhook signing key from Mailgun');
  }
  if (def.kind === 'sendgrid' && s.webhookPublicKey !== undefined) parseSendGridPublicKey(s.webhookPublicKey);
  if (def.kind === 'ses') {
    if (s.snsTopicArns !== undefined) topicArnsOf(s.snsTopicArns);
    if (s.acceptUnsignedRawDelivery !== undefined && typeof s.acceptUnsignedRawDelivery !== 'boolean') throw configError('ses', 'acceptUnsignedRawDelivery', 'must be true or false');
  }
}

/**
 * SendGrid's webhook verification key: the base64 DER public key SendGrid shows (or the same in
 * PEM), which must be an EC P-256 key.
 */
export function parseSendGridPublicKey(value: unknown): KeyObject {
  const problem = 'must be the Signed Event Webhook verification key from SendGrid (base64 or PEM, EC P-256)';
  if (typeof value !== 'string' || value.trim() === '') throw configError('sendgrid', 'webhookPublicKey', problem);
  let key: KeyObject;
  try {
    const text = value.trim();
    key = text.startsWith('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw configError('sendgrid', 'webhookPublicKey', problem);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw configError('sendgrid', 'webhookPublicKey', problem);
  return key;
}

/** The SNS topic ARNs allowed to post to an SES transport's webhook. */
export function topicArnsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 20 || !value.every((a) => typeof a === 'string' && TOPIC_ARN.test(a))) {
    throw configError('ses', 'snsTopicArns', 'must be a list (at most 20) of SNS topic ARNs such as arn:aws:sns:eu-west-1:123456789012:ses-events');
  }
  return value as string[];
}
