/** One part of a multipart/form-data body. */
export interface FormPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  /** The part's bytes exactly as sent. */
  data: Buffer;
}

/**
 * Parses multipart/form-data (RFC 7578) on raw bytes, written here rather than borrowed from the
 * HTTP client under test, so the fake judges the client's encoding independently. Throws with a
 * reason on any malformed body.
 */
export function parseMultipart(contentType: string | undefined, body: Buffer): FormPart[] {
  const m = /^multipart\/form-data;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType ?? '');
  if (!m) throw new Error(`content type is not multipart/form-data with a boundary: ${contentType}`);
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  if (at !== 0) throw new Error('body does not start with the boundary');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') break;
    if (body.subarray(at, at + 2).toString() !== '\r\n') throw new Error('boundary not followed by CRLF');
    at += 2;
    const headEnd = body.indexOf('\r\n\r\n', at);
    if (headEnd < 0) throw new Error('part without a header end');
    const head = body.subarray(at, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    if (next < 0) throw new Error('part without a closing boundary');
    parts.push({ ...partHeaders(head), data: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

function partHeaders(head: string): Omit<FormPart, 'data'> {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of head.split('\r\n')) {
    const [key, ...rest] = line.split(':');
    const value = rest.join(':').trim();
    if (/^content-disposition$/i.test(key ?? '')) {
      if (!/^form-data/i.test(value)) throw new Error(`part disposition is not form-data: ${value}`);
      name = /;\s*name="([^"]*)"/.exec(value)?.[1] ?? null;
      filename = /;\s*filename="([^"]*)"/.exec(value)?.[1] ?? null;
    } else if (/^content-type$/i.test(key ?? '')) {
      contentType = value;
    }
  }
  if (name === null) throw new Error('part without a name');
  return { name, filename, contentType };
}
