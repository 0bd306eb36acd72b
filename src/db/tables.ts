import type { Generated, Insertable, Selectable } from 'kysely';
import type { ProductsTable, OrdersTable, OrderItemsTable, CartsTable, ContactMetricsTable, SegmentsTable, SegmentVersionsTable, SegmentMembersTable, ConnectorDeliveriesTable, BackfillCursorsTable } from './tables-store.ts';

// Column types as Kysely sees them, in camelCase (the CamelCasePlugin maps them to snake_case
// columns). Times are epoch milliseconds in both dialects so that comparisons and arithmetic
// with the injected clock are plain integers. JSON columns are TEXT on SQLite and JSONB on
// PostgreSQL; `dialect.ts` reads and writes them.

export interface ContactsTable {
  id: Generated<number>;
  email: string | null;
  emailKey: string | null;
  emailDomain: string | null;
  firstName: string | null;
  lastName: string | null;
  locale: string | null;
  timezone: string | null;
  currency: string | null;
  phone: string | null;
  attributes: unknown;
  createdAt: number;
  updatedAt: number;
}

/** Contacts a public signup created, until they confirm (migration 011). */
export interface SignupContactsTable {
  contactId: number;
  createdAt: number;
}

export interface ContactExternalIdsTable {
  contactId: number;
  source: string;
  externalId: string;
}

export interface TopicsTable {
  id: Generated<number>;
  key: string;
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface SubscriptionsTable {
  contactId: number;
  topicId: number;
  status: string;
  updatedAt: number;
}

export interface ConsentLogTable {
  id: Generated<number>;
  contactId: number | null;
  email: string | null;
  topicId: number | null;
  topicKey: string;
  action: string;
  status: string;
  source: string;
  ip: string | null;
  userAgent: string | null;
  wording: string | null;
  wordingVersion: string | null;
  createdAt: number;
}

export interface SuppressionsTable {
  id: Generated<number>;
  email: string | null;
  emailHash: string;
  reason: string;
  source: string;
  note: string | null;
  createdAt: number;
}

export interface ApiKeysTable {
  id: Generated<number>;
  name: string;
  prefix: string;
  keyHash: string;
  scope: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface TemplatesTable {
  id: Generated<number>;
  key: string;
  name: string;
  kind: string;
  topicId: number | null;
  defaultLocale: string;
  trackOpens: number;
  trackClicks: number;
  utm: unknown;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface TemplateVariantsTable {
  id: Generated<number>;
  templateId: number;
  locale: string;
  subject: string;
  preheader: string;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
  bodyType: string;
  body: string;
  textBody: string | null;
  compiledHtml: string;
  version: number;
  updatedAt: number;
}

export interface SettingsTable {
  key: string;
  value: unknown;
  updatedAt: number;
}

export interface EventsTable {
  id: Generated<number>;
  type: string;
  contactId: number | null;
  messageRef: string | null;
  properties: unknown;
  ip: string | null;
  userAgent: string | null;
  occurredAt: number;
  source: string | null;
  sourceEventId: string | null;
  reason: string | null;
  machine: string | null;
}

export interface UnmatchedFeedbackTable {
  id: Generated<number>;
  source: string;
  sourceEventId: string | null;
  type: string | null;
  why: string;
  detail: unknown;
  raw: string | null;
  receivedAt: number;
}

export interface SoftBouncesTable {
  emailHash: string;
  times: unknown;
  updatedAt: number;
}

export interface MaillogCursorsTable {
  path: string;
  inode: string;
  offset: number;
  updatedAt: number;
}

export interface MaillogQueueTable {
  queueId: string;
  messageId: string;
  seenAt: number;
}

export interface OptinRequestsTable {
  emailHash: string;
  lastSentAt: number;
  requests: Generated<number>;
}

export interface CapturedMessagesTable {
  id: Generated<number>;
  messageRef: string;
  envelopeFrom: string;
  envelopeTo: string;
  subject: string;
  raw: Buffer;
  createdAt: number;
}

export interface MessagesTable {
  id: Generated<number>;
  idempotencyKey: string;
  ref: string;
  stream: string;
  source: string;
  contactId: number | null;
  toEmail: string;
  templateKey: string | null;
  content: unknown;
  data: unknown;
  locale: string | null;
  topicKey: string | null;
  campaignId: number | null;
  streamId: string;
  status: string;
  dueAt: number;
  leaseOwner: string | null;
  attempts: Generated<number>;
  transport: string | null;
  providerMessageId: string | null;
  lastResponse: string | null;
  reason: string | null;
  apiKeyId: number | null;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
}

export interface MessageHistoryTable {
  id: Generated<number>;
  messageId: number;
  status: string;
  attempt: number | null;
  transport: string | null;
  code: number | null;
  enhanced: string | null;
  response: string | null;
  at: number;
}

export interface TransportsTable {
  id: Generated<number>;
  name: string;
  kind: string;
  config: unknown;
  secret: string | null;
  maxPerSecond: number | null;
  maxConnections: number | null;
  warmup: unknown;
  warmupStartedAt: number | null;
  enabled: number;
  createdAt: number;
  updatedAt: number;
}

export interface BreakersTable {
  scope: string;
  state: string;
  reason: string | null;
  changedAt: number;
  resumedAt: number | null;
}

export interface DkimKeysTable {
  id: Generated<number>;
  domain: string;
  selector: string;
  algorithm: string;
  privateKeySealed: string;
  publicDnsValue: string;
  status: string;
  createdAt: number;
  retiredAt: number | null;
}

export interface Tables {
  contacts: ContactsTable;
  contactExternalIds: ContactExternalIdsTable;
  signupContacts: SignupContactsTable;
  topics: TopicsTable;
  subscriptions: SubscriptionsTable;
  consentLog: ConsentLogTable;
  suppressions: SuppressionsTable;
  apiKeys: ApiKeysTable;
  meta: MetaTable;
  templates: TemplatesTable;
  templateVariants: TemplateVariantsTable;
  settings: SettingsTable;
  events: EventsTable;
  capturedMessages: CapturedMessagesTable;
  messages: MessagesTable;
  messageHistory: MessageHistoryTable;
  transports: TransportsTable;
  breakers: BreakersTable;
  dkimKeys: DkimKeysTable;
  unmatchedFeedback: UnmatchedFeedbackTable;
  softBounces: SoftBouncesTable;
  maillogCursors: MaillogCursorsTable;
  maillogQueue: MaillogQueueTable;
  optinRequests: OptinRequestsTable;
  products: ProductsTable;
  orders: OrdersTable;
  orderItems: OrderItemsTable;
  carts: CartsTable;
  contactMetrics: ContactMetricsTable;
  segments: SegmentsTable;
  segmentVersions: SegmentVersionsTable;
  segmentMembers: SegmentMembersTable;
  connectorDeliveries: ConnectorDeliveriesTable;
  backfillCursors: BackfillCursorsTable;
}

export type ContactRow = Selectable<ContactsTable>;
export type NewConsentRow = Insertable<ConsentLogTable>;
