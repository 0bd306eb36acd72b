import { parseHeaderBlock, type FieldBlock } from './header-fields.ts';

// A small, forgiving MIME reader for reports. mailparser is not used here: it folds an inline
// message/rfc822 part into the text and drops its headers, and the returned message's headers
// (its Message-ID, its Return-Path) are exactly what a bounce is matched by. Bodies are handled as
// latin1 strings (one char per byte) so splitting never corrupts bytes; text is decoded last.

/** One MIME entity: its headers, its type, and its body still in its transfer encoding. */
export interface MimePart {
  headers: FieldBlock;
  /** `type/subtype`, lower-case; `text/plain` when missing (RFC 2045 §5.2). */
  type: string;
  params: Record<string, string>;
  /** The body as latin1 (one char per byte), before Content-Transfer-Encoding is undone. */
  body: string;
}

/** The leaves of a message, in order, plus what was wrong with its structure. */
export interface MimeTree {
  root: MimePart;
  /** Leaf parts; message/rfc822 parts are leaves too (their own parts are not walked). */
  leaves: MimePart[];
  problems: string[];
}

const MAX_DEPTH = 8;
const MAX_PARTS = 200;

/** Splits a raw message into its parts. Never throws: a broken structure yields fewer parts and a problem. */
export function readMime(raw: Buffer): MimeTree {
  const problems: string[] = [];
  const root = partOf(raw.toString('latin1'), 'text/plain');
  const leaves: MimePart[] = [];
  const walk = (part: MimePart, depth: number) => {
    if (leaves.length >= MAX_PARTS) return;
    if (!part.type.startsWith('multipart/')) {
      leaves.push(part);
      return;
    }
    const boundary = part.params.boundary;
    if (!boundary) {
      problems.push(`a ${part.type} part has no boundary parameter`);
      leaves.push({ ...part, type: 'text/plain' });
      return;
    }
    if (depth >= MAX_DEPTH) {
      problems.push(`MIME nesting deeper than ${MAX_DEPTH} levels was not read`);
      return;
    }
    const { bodies, closed } = splitMultipart(part.body, boundary);
    if (bodies.length === 0) {
      problems.push(`the boundary "${boundary.slice(0, 70)}" of a ${part.type} part never occurs`);
      leaves.push({ ...part, type: 'text/plain' });
      return;
    }
    if (!closed) problems.push(`a ${part.type} part is not closed (truncated message?)`);
    const childDefault = part.type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    for (const body of bodies) walk(partOf(body, childDefault), depth + 1);
  };
  walk(root, 0);
  if (leaves.length >= MAX_PARTS) problems.push(`only the first ${MAX_PARTS} MIME parts were read`);
  return { root, leaves, problems };
}

/** A part's body with its Content-Transfer-Encoding undone, as bytes. */
export function decodedBody(part: MimePart): Buffer {
  const cte = (part.headers.get('Content-Transfer-Encoding') ?? '7bit').toLowerCase().trim();
  if (cte === 'base64') return Buffer.from(part.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') {
    const s = part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(s, 'latin1');
  }
  return Buffer.from(part.body, 'latin1');
}

/** A part's text: transfer encoding undone and its charset decoded (unknown charsets read as UTF-8). */
export function textOf(part: MimePart): string {
  return decodeCharset(decodedBody(part), part.params.charset);
}

/** Bytes in a named charset, falling back to UTF-8 for an unknown or missing name. */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder((charset ?? 'utf-8').toLowerCase()).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function partOf(text: string, defaultType: string): MimePart {
  const sep = /\r?\n\r?\n/.exec(text);
  // A part that starts with a blank line has no headers; one without any blank line is all headers.
  const startsBlank = /^\r?\n/.test(text);
  const headerText = startsBlank ? '' : sep ? text.slice(0, sep.index) : text;
  const body = startsBlank ? text.replace(/^\r?\n/, '') : sep ? text.slice(sep.index + sep[0].length) : '';
  const headers = parseHeaderBlock(headerTextOf(headerText));
  const { type, params } = parseContentType(headers.get('Content-Type'), defaultType);
  return { headers, type, params, body };
}

/** `multipart/report; report-type=delivery-status; boundary="x"` → type and lower-cased parameter names. */
export function parseContentType(value: string | null, fallback: string): { type: string; params: Record<string, string> } {
  if (!value) return { type: fallback, params: {} };
  const [head, ...rest] = splitParams(value);
  const type = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(head!.trim()) ? head!.trim().toLowerCase() : fallback;
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"')) v = v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    if (name && !(name in params)) params[name] = v;
  }
  return { type, params };
}

function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && quoted) {
      cur += c + (value[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** The bodies between `--boundary` lines (RFC 2046 §5.1.1); the preamble and epilogue are dropped. */
function splitMultipart(body: string, boundary: string): { bodies: string[]; closed: boolean } {
  const delimiter = `--${boundary}`;
  const lines = body.split(/(?<=\n)/);
  const bodies: string[] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    const bare = line.replace(/[ \t]*\r?\n$/, '');
    if (bare === delimiter || bare === `${delimiter}--`) {
      if (current) bodies.push(trimLastNewline(current.join('')));
      if (bare.endsWith('--') && bare !== delimiter) return { bodies, closed: true };
      current = [];
      continue;
    }
    current?.push(line);
  }
  if (current) bodies.push(trimLastNewline(current.join('')));
  return { bodies, closed: false };
}

/** The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1). */
function trimLastNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}

/** A header block decoded for display: raw bytes as UTF-8 when they are, else latin1. */
export function headerTextOf(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  const utf8 = bytes.toString('utf8');
  return utf8.includes('\uFFFD') ? latin1 : utf8;
}
