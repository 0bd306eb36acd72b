import { readSesNotification } from '../adapters/feedback/ses-events.ts';
import { checkSigningCertUrl, checkSnsUrl, parseSnsBody, verifySnsSignature, type SnsEnvelope } from '../adapters/feedback/sns-signature.ts';
import { topicArnsOf } from '../adapters/feedback/webhook-settings.ts';
import type { TransportDefinition } from '../domain/transports.ts';
import { AppError, assertNever } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { header, loadWebhookTransport, storeReading, unverified, type WebhookDelivery, type WebhookOutcome, type WebhookRuntime } from './esp-webhooks.ts';

/**
 * Receives what Amazon SNS posts for an SES transport: checks the topic is one the transport
 * allows and the envelope's signature against the certificate SNS names (on an SNS host), then
 * records the SES notification inside, or confirms the subscription. No freshness window: SNS
 * retries the same signed envelope for up to an hour, and replays are stored once anyway.
 */
export async function receiveSesWebhook(ctx: ServiceContext, rt: WebhookRuntime, d: WebhookDelivery): Promise<WebhookOutcome> {
  const def = await loadWebhookTransport(ctx, 'ses', d.transport);
  const allowed = topicArnsOf(def.settings.snsTopicArns);
  const body = parseSnsBody(d.body);
  switch (body.kind) {
    case 'unreadable':
      throw unverified(ctx, def, `not a signed SNS message: ${body.why}`);
    case 'raw': {
      // Raw message delivery posts the bare SES JSON with no signature: anyone who learns the URL
      // could then forge bounces and complaints and get any address suppressed. It is refused
      // unless the operator has accepted that risk for this transport.
      if (def.settings.acceptUnsignedRawDelivery !== true) throw unverified(ctx, def, 'an unsigned SES notification (SNS raw message delivery); turn raw message delivery off on the SNS subscription so SNS signs what it sends');
      checkTopic(ctx, def, allowed, header(d, 'x-amz-sns-topic-arn') ?? '(no x-amz-sns-topic-arn header)');
      return storeReading(ctx, def, readSesNotification(body.message, header(d, 'x-amz-sns-message-id') ?? null, ctx.clock.now()));
    }
    case 'envelope':
      break;
    default:
      return assertNever(body, 'SNS body');
  }
  const env = body.envelope;
  checkTopic(ctx, def, allowed, env.TopicArn);
  await checkSignature(ctx, rt, def, env);
  switch (env.Type) {
    case 'Notification':
      return storeReading(ctx, def, readSesNotification(env.Message, env.MessageId, ctx.clock.now()));
    case 'SubscriptionConfirmation':
      return confirmSubscription(ctx, rt, def, env);
    case 'UnsubscribeConfirmation':
      ctx.logger.warn({ transport: def.name, topicArn: env.TopicArn }, 'SNS says this endpoint was unsubscribed from the topic; SES events will stop arriving');
      return { status: 'subscription_removed' };
    default:
      return assertNever(env.Type, 'SNS message type');
  }
}

function checkTopic(ctx: ServiceContext, def: TransportDefinition, allowed: readonly string[], given: string): void {
  if (allowed.includes(given)) return;
  const topicArn = given.slice(0, 300);
  ctx.logger.warn({ transport: def.name, topicArn }, 'SNS topic not allowed');
  const why = allowed.length === 0 ? `transport "${def.name}" allows no SNS topic yet; add ${topicArn} to its snsTopicArns setting` : `topic ${topicArn} is not in the snsTopicArns of transport "${def.name}"`;
  throw new AppError('forbidden', `webhook not accepted: ${why}`, [{ field: 'TopicArn', message: 'not allowed' }]);
}

async function checkSignature(ctx: ServiceContext, rt: WebhookRuntime, def: TransportDefinition, env: SnsEnvelope): Promise<void> {
  const certUrl = checkSigningCertUrl(env.SigningCertURL);
  if (!certUrl.ok) throw unverified(ctx, def, certUrl.why);
  let key;
  try {
    key = await rt.certificates.publicKeyFor(certUrl.value.href);
  } catch (err) {
    // Ours or AWS's trouble, not the sender's: a 5xx makes SNS try again later.
    ctx.logger.error({ transport: def.name, host: certUrl.value.host, err: (err as Error).message }, 'SNS signing certificate unavailable');
    throw new AppError('internal', `could not fetch the SNS signing certificate: ${(err as Error).message}`);
  }
  if (!verifySnsSignature(env, key)) throw unverified(ctx, def, `the SNS signature (version ${env.SignatureVersion}) does not match the certificate at SigningCertURL`);
}

async function confirmSubscription(ctx: ServiceContext, rt: WebhookRuntime, def: TransportDefinition, env: SnsEnvelope): Promise<WebhookOutcome> {
  const url = checkSnsUrl(env.SubscribeURL!, 'SubscribeURL');
  if (!url.ok) throw unverified(ctx, def, url.why);
  let status: number;
  try {
    status = (await rt.httpsGet(url.value.href)).status;
  } catch (err) {
    status = 0;
    ctx.logger.error({ transport: def.name, err: (err as Error).message }, 'SNS subscription confirmation failed');
  }
  if (status !== 200) throw new AppError('internal', `could not confirm the SNS subscription (SubscribeURL answered ${status || 'nothing'}); SNS retries server errors, or request confirmation again in the SNS console`);
  ctx.logger.info({ transport: def.name, topicArn: env.TopicArn }, 'SNS subscription confirmed');
  return { status: 'subscription_confirmed' };
}
