import { parseMultipart, type FormPart } from './multipart.ts';
import { startFakeHttpServer, type FakeMode, type FakeReply, type ReceivedRequest } from './http-server.ts';

/** What the fake Mailgun took from one accepted messages.mime request. */
export interface MailgunSubmission {
  to: string[];
  message: Buffer;
  tags: string[];
  /** `v:` fields by name, without the prefix. */
  variables: Record<string, string>;
}

/** A local Mailgun: checks messages.mime requests as Mailgun documents them and answers like it. */
export interface FakeMailgun {
  url: string;
  mode: FakeMode;
  requests: ReceivedRequest[];
  accepted: MailgunSubmission[];
  close(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): FakeReply => ({ status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** Starts a fake Mailgun for one sending domain and API key. */
export async function startFakeMailgun(opts: { apiKey: string; domain: string; retryAt?: Date }): Promise<FakeMailgun> {
  const fake: FakeMailgun = { url: '', mode: 'ok', requests: [], accepted: [], close: async () => {} };
  const server = await startFakeHttpServer((req) => {
    if (fake.mode === 'stall') return 'stall';
    if (req.method !== 'POST' || req.url !== `/v3/${opts.domain}/messages.mime`) return json(404, { message: `not found: ${req.method} ${req.url}` });
    // Mailgun answers a wrong key with a bare "Forbidden" text and status 401.
    if (req.headers.authorization !== `Basic ${Buffer.from(`api:${opts.apiKey}`).toString('base64')}`) return { status: 401, body: 'Forbidden' };
    switch (fake.mode) {
      case 'throttled':
        return json(429, { message: 'Too many requests' }, { 'retry-after': '7' });
      case 'throttled-until':
        return json(429, { message: 'Too many requests' }, { 'retry-after': (opts.retryAt ?? new Date()).toUTCString() });
      case 'server-error':
        return json(500, { message: 'Internal Server Error' });
      case 'unavailable':
        return { status: 503, headers: { 'content-type': 'text/html' }, body: '<html><body>503 Service Temporarily Unavailable</body></html>' };
      default:
    }
    let parts: FormPart[];
    try {
      parts = parseMultipart(req.headers['content-type'], req.body);
    } catch (err) {
      return json(400, { message: `malformed multipart body: ${(err as Error).message}` });
    }
    const problem = checkParts(parts);
    if (problem) return json(400, { message: problem });
    if (fake.mode === 'bad-request') return json(400, { message: "'to' parameter is not a valid address. please check documentation" });
    const all = (name: string) => parts.filter((p) => p.name === name).map((p) => p.data.toString('utf8'));
    fake.accepted.push({
      to: all('to'),
      message: parts.find((p) => p.name === 'message')!.data,
      tags: all('o:tag'),
      variables: Object.fromEntries(parts.filter((p) => p.name.startsWith('v:')).map((p) => [p.name.slice(2), p.data.toString('utf8')])),
    });
    const id = `<20260101000000.${fake.accepted.length}.fake@${opts.domain}>`;
    return json(200, { id, message: 'Queued. Thank you.' });
  });
  fake.url = server.url;
  fake.requests = server.requests;
  fake.close = server.close;
  return fake;
}

// The documented rules of messages.mime: `to` and one `message` file are required; at most three
// tags of up to 128 ASCII characters; only known field prefixes.
function checkParts(parts: FormPart[]): string | null {
  const to = parts.filter((p) => p.name === 'to');
  const messages = parts.filter((p) => p.name === 'message');
  if (to.length === 0) return "to parameter is missing";
  if (messages.length !== 1 || messages[0]!.filename === null) return 'message parameter is missing (it must be a file part)';
  const tags = parts.filter((p) => p.name === 'o:tag');
  if (tags.length > 3) return 'Too many tags: at most 3 per message';
  for (const t of tags) if (t.data.length > 128 || /[^\x20-\x7e]/.test(t.data.toString('latin1'))) return `tag is not ASCII or too long: ${t.data.toString('utf8')}`;
  for (const p of parts) if (!/^(to|message|o:[a-z-]+|h:[A-Za-z0-9-]+|v:[A-Za-z0-9_-]+)$/.test(p.name)) return `unknown parameter ${p.name}`;
  return null;
}
