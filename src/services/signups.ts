import { inTransaction, type Db } from '../db/database.ts';
import { isUniqueViolation } from '../db/dialect.ts';
import { insertContact, selectContact, selectContactIdsByEmailKeys } from '../db/queries/contacts.ts';
import { insertEvent } from '../db/queries/events.ts';
import { claimOptinSend, countOptinRequest } from '../db/queries/optin-requests.ts';
import { deleteSignupContact, insertSignupContact } from '../db/queries/signup-contacts.ts';
import { deleteSuppressionByReason, selectSuppressionReasons } from '../db/queries/suppressions.ts';
import { selectTemplate } from '../db/queries/templates.ts';
import { selectTopics } from '../db/queries/topics.ts';
import type { ConsentEvidence, ConsentSource, Topic } from '../domain/consent.ts';
import { addressOf, validateContactInput, type Contact } from '../domain/contacts.ts';
import { normalizeEmail, type NormalizedEmail } from '../domain/emails.ts';
import { decideSendPermission, type SuppressionReason } from '../domain/suppressions.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { parseSignupToken, SIGNUP_LINK_TTL_MS, signSignupToken, signupConfirmUrl, verifySignupToken } from '../templates/signup-links.ts';
import type { ServiceContext } from './context.ts';
import { enqueueMessage } from './messages.ts';
import { installStarterTemplates } from './starter-templates.ts';
import { getStoreSettings, type StoreSettings } from './store-settings.ts';
import { applySubscriptionChanges, consentHistory, topicStatuses } from './subscriptions.ts';
import { suppressionHash } from './suppressions.ts';
import type { Requester } from './tracking.ts';

// Double opt-in, first half: someone asks to subscribe on the store's site. Their topics become
// `pending` with the evidence (IP, user agent, the wording they agreed to), and a confirmation
// email goes out through the transactional outbox. The caller always gets the same answer, so
// the endpoint never tells anyone whether an address is known, subscribed or suppressed.
// Second half: the signed link in that email moves the topics to `subscribed`.

/** The template the confirmation email is sent with; installed from the starter library on first use. */
export const SIGNUP_TEMPLATE = 'signup-confirmation';

/** No second confirmation email to one address within this time, however often it is submitted. */
export const OPTIN_RESEND_AFTER_MS = 3600_000;

/** One signup as the public endpoint received it. */
export interface SignupRequest {
  email: string;
  /** Topic keys; none = every topic of the store setting `signupTopics`. */
  topics?: string[];
  firstName?: string | null;
  locale?: string | null;
  /** The exact text the person agreed to (kept in the consent log as proof). */
  wording: string;
  wordingVersion?: string | null;
  ip: string | null;
  userAgent: string | null;
  source: ConsentSource;
}

/** What a signup did. The HTTP answer is the same for all of them; the difference is for logs and tests. */
export type SignupOutcome =
  | { status: 'confirmation_sent'; contactId: number; messageId: number }
  /** A confirmation went to the address within the last hour: the topics are pending, no new email. */
  | { status: 'throttled'; contactId: number }
  | { status: 'already_subscribed'; contactId: number }
  /** The address may not get mail at all (complaint, bounces, a manual block, erasure): nothing stored. */
  | { status: 'suppressed'; reason: SuppressionReason };

const MAX_WORDING = 2000;
const MAX_VERSION = 100;
const MAX_NAME = 100;

interface CheckedSignup {
  address: NormalizedEmail;
  firstName: string | null;
  locale: string | null;
}

/** Checks every field and reports all problems together, each naming its field. */
function checkSignup(r: SignupRequest): CheckedSignup {
  const errors: ErrorDetail[] = [];
  const addr = normalizeEmail(r.email);
  if (!addr.ok) errors.push({ field: 'email', message: `"${r.email.slice(0, 80)}" is not a valid email address: it ${addr.reason}` });
  const profile = validateContactInput({ firstName: r.firstName ?? null, locale: r.locale ?? null }, { requireEmail: false });
  if (!profile.ok) errors.push(...profile.errors);
  if ((r.firstName ?? '').length > MAX_NAME) errors.push({ field: 'firstName', message: `is longer than ${MAX_NAME} characters` });
  if (r.wording.trim() === '') errors.push({ field: 'wording', message: 'is required: the exact consent text shown beside the form, kept as proof of consent' });
  if (r.wording.length > MAX_WORDING) errors.push({ field: 'wording', message: `is longer than ${MAX_WORDING} characters` });
  if ((r.wordingVersion ?? '').length > MAX_VERSION) errors.push({ field: 'wordingVersion', message: `is longer than ${MAX_VERSION} characters` });
  if (/\u0000/.test(r.wording + (r.wordingVersion ?? ''))) errors.push({ field: 'wording', message: 'contains a NUL character' });
  if (errors.length > 0 || !addr.ok || !profile.ok) throw new AppError('validation_failed', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  return { address: addr.value, firstName: profile.value.firstName ?? null, locale: profile.value.locale ?? null };
}

/**
 * The topics a signup asks for: those named (each must be offered by `signupTopics`), or all
 * offered ones. Offered keys with no topic behind them are skipped; none left is the operator's
 * problem (config_invalid), not the visitor's.
 */
async function requestedTopics(ctx: ServiceContext, store: StoreSettings, keys: string[] | undefined): Promise<Topic[]> {
  const offered = new Set(store.signupTopics);
  const asked = keys && keys.length > 0 ? [...new Set(keys)] : [...offered];
  const refused = asked.filter((k) => !offered.has(k));
  if (refused.length > 0) {
    throw new AppError(
      'validation_failed',
      `topics: ${refused.join(', ')} ${refused.length > 1 ? 'are' : 'is'} not offered by this signup (offered: ${[...offered].join(', ') || 'none'})`,
      refused.map((k) => ({ field: `topics/${k}`, message: 'not offered by this signup' })),
    );
  }
  const topics = (await selectTopics(ctx.db)).filter((t) => asked.includes(t.key));
  if (topics.length === 0) {
    throw new AppError('config_invalid', `no topic is open for signup: create the topic${asked.length > 1 ? 's' : ''} ${asked.join(', ') || '(none configured)'} or change the store setting signupTopics`);
  }
  return topics;
}

/** The keyed hash optin_requests remembers an address by (its own key: not joinable with other tables). */
function optinHash(ctx: ServiceContext, emailKey: string): string {
  return ctx.keyring.keyedHash('optin', emailKey);
}

/** Installs the confirmation template from the starter library unless the store already has one. */
async function ensureConfirmationTemplate(ctx: ServiceContext): Promise<void> {
  if (await selectTemplate(ctx.db, SIGNUP_TEMPLATE)) return;
  try {
    await installStarterTemplates(ctx, [SIGNUP_TEMPLATE]);
  } catch (err) {
    // Two first signups at once: the other one installed it.
    if (!(await selectTemplate(ctx.db, SIGNUP_TEMPLATE))) throw err;
  }
}

/** The contact with this address, created from the signup when there is none. An existing profile is never changed from a public form. */
async function findOrCreateContact(tx: Db, s: CheckedSignup, now: number): Promise<Contact> {
  const id = (await selectContactIdsByEmailKeys(tx, [s.address.key])).get(s.address.key);
  if (id !== undefined) return (await selectContact(tx, id))!;
  const created = await insertContact(tx, { email: s.address.email, emailKey: s.address.key, emailDomain: s.address.domain, firstName: s.firstName, locale: s.locale }, now);
  // Marked as the signup's own, so it can go if it never confirms (services/lapsed-signups.ts).
  await insertSignupContact(tx, created, now);
  return (await selectContact(tx, created))!;
}

/**
 * Records a signup and sends the confirmation email, at most once an hour per address. Throws
 * validation_failed naming each bad field; anything else is a quiet outcome (see SignupOutcome).
 */
export async function requestSignup(ctx: ServiceContext, r: SignupRequest): Promise<SignupOutcome> {
  const s = checkSignup(r);
  const store = await getStoreSettings(ctx);
  const topics = await requestedTopics(ctx, store, r.topics);
  const permission = decideSendPermission({ kind: 'transactional', suppressions: await selectSuppressionReasons(ctx.db, suppressionHash(ctx.keyring, s.address.key)), topicStatus: null, hasTopic: false });
  if (!permission.allowed && permission.reason === 'suppressed') {
    ctx.logger.info({ reason: permission.suppression }, 'signup for a suppressed address ignored');
    return { status: 'suppressed', reason: permission.suppression };
  }
  await ensureConfirmationTemplate(ctx);
  const evidence: ConsentEvidence = { source: r.source, ip: r.ip, userAgent: r.userAgent, wording: r.wording.trim(), wordingVersion: r.wordingVersion ?? null };
  // Two first signups of one address at once on PostgreSQL: the loser's insert fails, and its
  // second try finds the contact the winner made.
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await inTransaction(ctx.db, (tx) => recordSignup(ctx, tx, s, topics, evidence));
      if (outcome.status === 'confirmation_sent') ctx.wakeDelivery();
      ctx.logger.info({ contactId: 'contactId' in outcome ? outcome.contactId : null, outcome: outcome.status }, 'signup recorded');
      return outcome;
    } catch (err) {
      if (attempt >= 2 || !isUniqueViolation(err)) throw err;
    }
  }
}

async function recordSignup(ctx: ServiceContext, tx: Db, s: CheckedSignup, topics: Topic[], evidence: ConsentEvidence): Promise<SignupOutcome> {
  const now = ctx.clock.now();
  const contact = await findOrCreateContact(tx, s, now);
  const statuses = await topicStatuses(tx, contact.id);
  const wanted = topics.filter((t) => statuses[t.key] !== 'subscribed');
  if (wanted.length === 0) return { status: 'already_subscribed', contactId: contact.id };
  await applySubscriptionChanges(tx, wanted.map((topic) => ({ contactId: contact.id, email: contact.email, topic, status: 'pending' as const, evidence })), now);

  const hash = optinHash(ctx, s.address.key);
  if (!(await claimOptinSend(tx, { emailHash: hash, now, sentBefore: now - OPTIN_RESEND_AFTER_MS }))) {
    await countOptinRequest(tx, hash);
    return { status: 'throttled', contactId: contact.id };
  }
  // The link confirms every topic pending now, earlier signups' included: one click, one inbox.
  const pending = (await selectTopics(tx)).filter((t) => wanted.some((w) => w.id === t.id) || statuses[t.key] === 'pending');
  const expiresAt = now + SIGNUP_LINK_TTL_MS;
  const token = signSignupToken(ctx.keyring, { contactId: contact.id, topicIds: pending.slice(0, 64).map((t) => t.id), expiresAt }, s.address.key);
  // Inside the transaction, so the claim and the email stand or fall together; delivery is woken after commit.
  const { message } = await enqueueMessage(
    { ...ctx, db: tx, wakeDelivery: () => {} },
    {
      idempotencyKey: `optin:${contact.id}:${now}`,
      source: 'tx',
      to: addressOf(contact),
      contactId: contact.id,
      templateKey: SIGNUP_TEMPLATE,
      // One-word keys: on PostgreSQL the camel-case plugin renames snake_case keys inside JSON
      // columns when reading them (confirm_url would come back as confirmUrl and render empty).
      data: { signup: { url: signupConfirmUrl(ctx.publicUrl, token), topics: pending.map((t) => t.name), expires: new Date(expiresAt).toISOString() } },
      locale: s.locale,
      streamId: 'optin',
    },
  );
  return { status: 'confirmation_sent', contactId: contact.id, messageId: message.id };
}

/** What a confirmation link is, read without changing anything (the page before the button). */
export type SignupLinkCheck =
  /** Malformed, forged, for a contact that is gone, or for an address the contact no longer has. */
  | { status: 'invalid' }
  | { status: 'expired'; contact: Contact }
  /** `topics`: those of the link that still exist; `pending` and `subscribed`: their current statuses. */
  | { status: 'valid'; contact: Contact; topics: Topic[]; pending: Topic[]; subscribed: Topic[] };

/** What clicking the confirmation button did. */
export type SignupConfirmation =
  | { status: 'invalid' }
  | { status: 'expired'; contact: Contact }
  | { status: 'confirmed'; contact: Contact; topics: Topic[] }
  /** Clicked before: every topic of the link is subscribed; nothing changed. */
  | { status: 'already_confirmed'; contact: Contact; topics: Topic[] }
  /** Nothing of the link is pending any more (unsubscribed since, or the topics were deleted). */
  | { status: 'nothing_pending'; contact: Contact };

/** Reads and checks a confirmation link: signature (for the contact's current address), expiry, its topics' statuses. */
export async function checkSignupLink(ctx: ServiceContext, token: string, db: Db = ctx.db): Promise<SignupLinkCheck> {
  const parsed = parseSignupToken(token);
  if (!parsed) return { status: 'invalid' };
  const contact = await selectContact(db, parsed.contactId);
  const addr = contact?.email ? normalizeEmail(contact.email) : undefined;
  if (!contact || !addr?.ok || !verifySignupToken(ctx.keyring, parsed, addr.value.key)) return { status: 'invalid' };
  if (ctx.clock.now() > parsed.expiresAt) return { status: 'expired', contact };
  const statuses = await topicStatuses(db, contact.id);
  const topics = (await selectTopics(db)).filter((t) => parsed.topicIds.includes(t.id));
  return { status: 'valid', contact, topics, pending: topics.filter((t) => statuses[t.key] === 'pending'), subscribed: topics.filter((t) => statuses[t.key] === 'subscribed') };
}

/**
 * Confirms a signup: the link's topics still pending become `subscribed`, logged with source
 * `double_opt_in`, the clicker's IP and user agent, and the wording agreed to at signup; an
 * unsubscribe-from-all is lifted (the person has just asked for mail) and a `signup_confirmed`
 * event is recorded. A second click changes nothing.
 */
export async function confirmSignup(ctx: ServiceContext, token: string, who: Requester): Promise<SignupConfirmation> {
  const result = await inTransaction(ctx.db, async (tx): Promise<SignupConfirmation> => {
    const link = await checkSignupLink(ctx, token, tx);
    if (link.status !== 'valid') return link;
    const { contact, topics, pending, subscribed } = link;
    if (pending.length === 0) return topics.length > 0 && subscribed.length === topics.length ? { status: 'already_confirmed', contact, topics } : { status: 'nothing_pending', contact };
    const now = ctx.clock.now();
    const agreed = await wordingAgreedTo(tx, contact.id);
    await applySubscriptionChanges(
      tx,
      pending.map((topic) => ({ contactId: contact.id, email: contact.email, topic, status: 'subscribed' as const, evidence: { source: 'double_opt_in' as const, ip: who.ip, userAgent: who.userAgent, ...agreed.get(topic.id) } })),
      now,
    );
    const addr = normalizeEmail(addressOf(contact));
    if (addr.ok) await deleteSuppressionByReason(tx, suppressionHash(ctx.keyring, addr.value.key), 'unsubscribe_all');
    // Confirmed: never again a candidate for removal as an unconfirmed signup.
    await deleteSignupContact(tx, contact.id);
    await insertEvent(tx, { type: 'signup_confirmed', contactId: contact.id, messageRef: null, properties: { topics: pending.map((t) => t.key) }, ip: who.ip, userAgent: who.userAgent, occurredAt: now });
    return { status: 'confirmed', contact, topics: pending };
  });
  if (result.status === 'confirmed') ctx.logger.info({ contactId: result.contact.id, topics: result.topics.map((t) => t.key) }, 'signup confirmed');
  return result;
}

/** The wording of each topic's latest move to `pending`, so the confirmation entry names what was confirmed. */
async function wordingAgreedTo(db: Db, contactId: number): Promise<Map<number, { wording: string | null; wordingVersion: string | null }>> {
  const out = new Map<number, { wording: string | null; wordingVersion: string | null }>();
  for (const r of await consentHistory(db, contactId)) {
    if (r.status === 'pending' && r.topicId !== null) out.set(r.topicId, { wording: r.wording, wordingVersion: r.wordingVersion });
  }
  return out;
}
