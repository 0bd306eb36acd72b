import { readFileSync } from 'node:fs';
import { sign } from 'node:crypto';
import { snsStringToSign, type SnsEnvelope } from '../../src/adapters/feedback/sns-signature.ts';
import type { HttpsGet } from '../../src/ports/https-get.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sns/${name}`, import.meta.url), 'utf8');

/** The test SNS signing pair (see test/fixtures/sns/README.md) and an unrelated one. */
export const SNS_CERT = fixture('signing.crt');
export const SNS_KEY = fixture('signing.key');
export const OTHER_CERT = fixture('other.crt');
export const OTHER_KEY = fixture('other.key');

export const TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:ses-events';
export const CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000f.pem';

/** An SNS envelope of `type` carrying `message`, signed with `key` (SHA1 for version 1, SHA256 for 2). */
export function signedEnvelope(message: string, over: Partial<SnsEnvelope> & { key?: string } = {}): SnsEnvelope & Record<string, unknown> {
  const { key = SNS_KEY, ...fields } = over;
  const type = fields.Type ?? 'Notification';
  const env: SnsEnvelope & Record<string, unknown> = {
    Type: type,
    MessageId: 'a1b2c3d4-0000-4000-8000-000000000001',
    TopicArn: TOPIC_ARN,
    Message: message,
    Timestamp: '2026-11-27T09:59:58.000Z',
    SignatureVersion: '1',
    Signature: '',
    SigningCertURL: CERT_URL,
    UnsubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC_ARN}:1`,
    ...(type !== 'Notification' ? { Token: 'token-123', SubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC_ARN}&Token=token-123` } : {}),
    ...fields,
  };
  env.Signature = sign(env.SignatureVersion === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(env)), key).toString('base64');
  return env;
}

/** A fake `httpsGet` serving the test certificate at CERT_URL and 200 for confirmation links; records every URL. */
export function fakeHttpsGet(pages: Record<string, { status: number; body: string }> = {}): HttpsGet & { urls: string[] } {
  const urls: string[] = [];
  const get = async (url: string) => {
    urls.push(url);
    if (pages[url]) return pages[url]!;
    if (url === CERT_URL) return { status: 200, body: SNS_CERT };
    if (url.includes('Action=ConfirmSubscription')) return { status: 200, body: '<ConfirmSubscriptionResponse/>' };
    return { status: 404, body: 'not found' };
  };
  return Object.assign(get, { urls });
}
