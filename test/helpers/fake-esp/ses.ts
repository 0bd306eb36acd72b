import { startFakeHttpServer, type FakeMode, type FakeReply, type ReceivedRequest } from './http-server.ts';
import { verifySigV4, type SigV4Expectation } from './sigv4.ts';

/** What the fake SES took from one accepted SendEmail request. */
export interface SesSubmission {
  body: any;
  /** Content.Raw.Data decoded. */
  raw: Buffer;
}

/** A local SES v2: verifies SigV4, checks SendEmail bodies, answers with SES's rest-json errors. */
export interface FakeSes {
  url: string;
  mode: FakeMode | 'sending-paused';
  requests: ReceivedRequest[];
  accepted: SesSubmission[];
  close(): Promise<void>;
}

// SES v2 names every error in x-amzn-ErrorType and puts the text in `message`.
const sesError = (status: number, type: string, message: string, headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`, 'x-amzn-requestid': 'fake-request-id', ...headers },
  body: JSON.stringify({ message }),
});

const TAG = /^[A-Za-z0-9_-]{1,256}$/;

/** Starts a fake SES v2 endpoint for one set of credentials and one region. */
export async function startFakeSes(opts: Omit<SigV4Expectation, 'service'> & { configurationSets?: string[]; retryAt?: Date }): Promise<FakeSes> {
  const fake: FakeSes = { url: '', mode: 'ok', requests: [], accepted: [], close: async () => {} };
  const server = await startFakeHttpServer((req) => {
    if (fake.mode === 'stall') return 'stall';
    if (req.method !== 'POST' || req.url !== '/v2/email/outbound-emails') return sesError(404, 'UnknownOperationException', `no operation at ${req.method} ${req.url}`);
    const verdict = verifySigV4(req, { ...opts, service: 'ses' });
    if (!verdict.ok) return sesError(403, verdict.error, verdict.message);
    switch (fake.mode) {
      case 'throttled':
        return sesError(429, 'TooManyRequestsException', 'Maximum sending rate exceeded.', { 'retry-after': '7' });
      case 'throttled-until':
        return sesError(429, 'TooManyRequestsException', 'Maximum sending rate exceeded.', { 'retry-after': (opts.retryAt ?? new Date()).toUTCString() });
      case 'server-error':
        return sesError(500, 'InternalFailure', 'The request processing has failed because of an unknown error.');
      case 'unavailable':
        return sesError(503, 'ServiceUnavailable', 'Service is unavailable.');
      default:
    }
    if (req.headers['content-type'] !== 'application/json') return sesError(400, 'BadRequestException', `unsupported content type ${req.headers['content-type']}`);
    let body: any;
    try {
      body = JSON.parse(req.body.toString('utf8'));
    } catch {
      return sesError(400, 'SerializationException', 'body is not JSON');
    }
    const problem = checkSendEmail(body, opts.configurationSets ?? []);
    if (problem) return sesError(problem.status, problem.type, problem.message);
    if (fake.mode === 'bad-request') return sesError(400, 'MessageRejected', `Email address is not verified. The following identities failed the check in region ${opts.region.toUpperCase()}: ${body.FromEmailAddress}`);
    if (fake.mode === 'sending-paused') return sesError(400, 'SendingPausedException', 'Sending is paused for this account.');
    fake.accepted.push({ body, raw: Buffer.from(body.Content.Raw.Data, 'base64') });
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ MessageId: `0100019fake${String(fake.accepted.length).padStart(4, '0')}-000000` }) };
  });
  fake.url = server.url;
  fake.requests = server.requests;
  fake.close = server.close;
  return fake;
}

// The SendEmail rules this project's requests touch: raw content as canonical base64, addresses
// present, tags within SES's character set, a configuration set that exists.
function checkSendEmail(b: any, sets: string[]): { status: number; type: string; message: string } | null {
  const bad = (message: string) => ({ status: 400, type: 'BadRequestException', message });
  if (typeof b?.FromEmailAddress !== 'string' || !b.FromEmailAddress.includes('@')) return bad('FromEmailAddress is missing or invalid');
  const to = b?.Destination?.ToAddresses;
  if (!Array.isArray(to) || to.length === 0 || !to.every((a: unknown) => typeof a === 'string' && a.includes('@'))) return bad('Destination.ToAddresses must list at least one address');
  const data = b?.Content?.Raw?.Data;
  if (typeof data !== 'string' || data === '' || Buffer.from(data, 'base64').toString('base64') !== data) return bad('Content.Raw.Data must be base64');
  if (b.Content.Simple !== undefined || b.Content.Template !== undefined) return bad('Content takes exactly one of Simple, Raw, Template');
  if (b.EmailTags !== undefined) {
    if (!Array.isArray(b.EmailTags)) return bad('EmailTags must be a list');
    for (const t of b.EmailTags) if (!TAG.test(t?.Name ?? '') || !TAG.test(t?.Value ?? '')) return bad(`Invalid tag ${JSON.stringify(t)}: names and values are [A-Za-z0-9_-], up to 256 characters`);
  }
  if (b.ConfigurationSetName !== undefined && !sets.includes(b.ConfigurationSetName)) return { status: 404, type: 'NotFoundException', message: `Configuration set <${b.ConfigurationSetName}> does not exist.` };
  return null;
}
