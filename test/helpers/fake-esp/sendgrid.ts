import { startFakeHttpServer, type FakeMode, type FakeReply, type ReceivedRequest } from './http-server.ts';

/** A local SendGrid: checks v3 mail send requests against the documented schema, answers like it. */
export interface FakeSendGrid {
  url: string;
  mode: FakeMode;
  requests: ReceivedRequest[];
  /** The JSON bodies of accepted requests. */
  accepted: any[];
  close(): Promise<void>;
}

// From SendGrid's mail_send spec: "You may not overwrite the following headers".
const RESERVED = ['x-sg-id', 'x-sg-eid', 'received', 'dkim-signature', 'content-type', 'content-transfer-encoding', 'to', 'from', 'subject', 'reply-to', 'cc', 'bcc'];

const errors = (status: number, list: { message: string; field?: string | null }[], headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ errors: list.map((e) => ({ message: e.message, field: e.field ?? null, help: null })) }),
});

/** Starts a fake SendGrid for one API key. */
export async function startFakeSendGrid(opts: { apiKey: string; retryAt?: Date }): Promise<FakeSendGrid> {
  const fake: FakeSendGrid = { url: '', mode: 'ok', requests: [], accepted: [], close: async () => {} };
  const server = await startFakeHttpServer((req) => {
    if (fake.mode === 'stall') return 'stall';
    if (req.method !== 'POST' || req.url !== '/v3/mail/send') return errors(404, [{ message: 'resource not found' }]);
    if (req.headers.authorization !== `Bearer ${opts.apiKey}`) return errors(401, [{ message: 'The provided authorization grant is invalid, expired, or revoked' }]);
    switch (fake.mode) {
      case 'throttled':
        return errors(429, [{ message: 'too many requests' }], { 'retry-after': '7' });
      case 'throttled-until':
        return errors(429, [{ message: 'too many requests' }], { 'retry-after': (opts.retryAt ?? new Date()).toUTCString() });
      case 'server-error':
        return errors(500, [{ message: 'internal error' }]);
      case 'unavailable':
        return { status: 503, headers: { 'retry-after': '30' }, body: '' };
      default:
    }
    if (!/^application\/json(;|$)/.test(req.headers['content-type'] ?? '')) return errors(415, [{ message: 'Content-Type should be application/json.' }]);
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return errors(400, [{ message: 'Bad Request', field: null }]);
    }
    const problems = checkMailSend(body);
    if (problems.length > 0) return errors(400, problems);
    if (fake.mode === 'bad-request') return errors(400, [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email' }]);
    fake.accepted.push(body);
    return { status: 202, headers: { 'x-message-id': `fakeSgId${fake.accepted.length}` }, body: '' };
  });
  fake.url = server.url;
  fake.requests = server.requests;
  fake.close = server.close;
  return fake;
}

// The rules of the mail_send schema that this project's requests touch.
function checkMailSend(b: any): { message: string; field: string }[] {
  const out: { message: string; field: string }[] = [];
  const str = (v: unknown) => typeof v === 'string' && v !== '';
  if (!Array.isArray(b?.personalizations) || b.personalizations.length < 1 || b.personalizations.length > 1000) out.push({ field: 'personalizations', message: 'The personalizations field is required and must have at least one personalization.' });
  else b.personalizations.forEach((p: any, i: number) => {
    if (!Array.isArray(p?.to) || p.to.length === 0 || !p.to.every((t: any) => str(t?.email))) out.push({ field: `personalizations.${i}.to`, message: 'The to array is required for all personalization objects, and must have at least one email object with a valid email address.' });
  });
  if (!str(b?.from?.email)) out.push({ field: 'from.email', message: 'The from object must be provided for every email send.' });
  if (b?.from?.name !== undefined && typeof b.from.name !== 'string') out.push({ field: 'from.name', message: 'The from name must be a string.' });
  if (b?.reply_to !== undefined && !str(b.reply_to?.email)) out.push({ field: 'reply_to.email', message: 'The reply_to email does not contain a valid address.' });
  if (!str(b?.subject)) out.push({ field: 'subject', message: 'The subject is required.' });
  if (!Array.isArray(b?.content) || b.content.length === 0 || !b.content.every((c: any) => str(c?.type) && str(c?.value))) out.push({ field: 'content', message: 'Each content object must have a type and a value of at least one character.' });
  else if (b.content.findIndex((c: any) => c.type === 'text/plain') > 0) out.push({ field: 'content.0.type', message: 'If present, text/plain content must be first, followed by any other content.' });
  if (b?.headers !== undefined) {
    for (const [k, v] of Object.entries(b.headers)) {
      if (RESERVED.includes(k.toLowerCase())) out.push({ field: `headers`, message: `The header "${k}" is reserved and cannot be set.` });
      if (typeof v !== 'string') out.push({ field: `headers.${k}`, message: 'Header values must be strings.' });
    }
  }
  if (b?.custom_args !== undefined) {
    if (!Object.values(b.custom_args).every((v) => typeof v === 'string')) out.push({ field: 'custom_args', message: 'Custom args values must be strings.' });
    if (Buffer.byteLength(JSON.stringify(b.custom_args)) > 10_000) out.push({ field: 'custom_args', message: 'Custom args may not exceed 10,000 bytes.' });
  }
  if (b?.categories !== undefined) {
    const c = b.categories;
    if (!Array.isArray(c) || c.length > 10 || new Set(c).size !== c.length || !c.every((x: unknown) => typeof x === 'string' && x.length <= 255)) out.push({ field: 'categories', message: 'Categories: at most 10 unique strings of up to 255 characters.' });
  }
  return out;
}
