import { normalizeEmail } from '../../domain/emails.ts';

// RFC 822-style field blocks as they appear in bounces: a DSN's message/delivery-status part
// (RFC 3464 §2.1: groups of fields separated by blank lines), an ARF message/feedback-report, and
// the returned headers of the original message. Folded lines are unfolded; names are
// case-insensitive; nothing here trusts the input to be well formed.

/** One block of fields, looked up by name in any case; repeated fields keep every value. */
export class FieldBlock {
  private readonly fields = new Map<string, string[]>();

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [name, value] of entries) this.add(name, value);
  }

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const list = this.fields.get(key);
    if (list) list.push(value);
    else this.fields.set(key, [value]);
  }

  /** The first value of a field, trimmed, or null when it is missing or empty. */
  get(name: string): string | null {
    const v = this.fields.get(name.toLowerCase())?.[0]?.trim();
    return v ? v : null;
  }

  all(name: string): string[] {
    return this.fields.get(name.toLowerCase()) ?? [];
  }

  get size(): number {
    return this.fields.size;
  }
}

const FIELD_LINE = /^([!-9;-~]{1,100})[ \t]*:[ \t]*(.*)$/;
/** No field a report needs is longer; a longer one is cut, so a hostile value costs nothing later. */
const MAX_VALUE = 16 * 1024;

/**
 * Splits text into blocks of fields at blank lines. A continuation line (starting with white
 * space) joins the field above it; a line that is neither is ignored, so one stray line does not
 * lose the rest of a report.
 */
export function parseFieldGroups(text: string): FieldBlock[] {
  const groups: FieldBlock[] = [];
  let current: Array<[string, string]> = [];
  const flush = () => {
    if (current.length > 0) groups.push(new FieldBlock(current));
    current = [];
  };
  for (const line of text.split(/\r?\n|\r/)) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    const last = current[current.length - 1];
    if (/^[ \t]/.test(line) && last) {
      if (last[1].length < MAX_VALUE) last[1] = `${last[1]} ${line.trim()}`.slice(0, MAX_VALUE);
      continue;
    }
    const m = FIELD_LINE.exec(line);
    if (m) current.push([m[1]!, m[2]!.trim().slice(0, MAX_VALUE)]);
  }
  flush();
  return groups;
}

/** The header block at the start of a message (up to its first blank line) as one set of fields. */
export function parseHeaderBlock(text: string): FieldBlock {
  const end = /\r?\n\r?\n/.exec(text);
  return parseFieldGroups(end ? text.slice(0, end.index) : text)[0] ?? new FieldBlock();
}

/**
 * An address field of a report (`rfc822; Jane@Example.net`, `<jane@example.net>`): the address
 * without its type, brackets or comments, or null if none is there. Non-rfc822 types (`x400;`)
 * give null: they cannot be matched to a contact.
 */
export function addressOfField(value: string | null | undefined): string | null {
  if (!value) return null;
  let v = value.trim();
  const typed = /^([A-Za-z0-9-]+)\s*;\s*(.*)$/.exec(v);
  if (typed) {
    const type = typed[1]!.toLowerCase();
    if (type !== 'rfc822' && type !== 'utf-8') return null;
    v = typed[2]!;
  }
  return firstAddressIn(v);
}

/** The first email address in a piece of text (`Jane <jane@x>`, `<jane@x>`, `'jane@x'`), lower-cased domain. */
export function firstAddressIn(text: string): string | null {
  // Bounded repeats: an untrusted line of 100 kB without an @ must not cost quadratic time.
  const m = /<\s*([^<>\s]{1,64}@[^<>\s]{1,255}?)\s*>|([^\s<>'"(),;:[\]]{1,64}@[A-Za-z0-9.\-[\]:_]{1,254}[A-Za-z0-9\]])/.exec(text);
  const raw = m?.[1] ?? m?.[2];
  if (!raw) return null;
  const cleaned = raw.replace(/^mailto:/i, '').replace(/\.+$/, '');
  const n = normalizeEmail(cleaned);
  return n.ok ? n.value.email : null;
}

/** A Message-ID with its angle brackets (`<x@y>`), or null when the value holds none. */
export function messageIdIn(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = /<([^<>\s]+@[^<>\s]+)>/.exec(value) ?? /^\s*([^<>\s]+@[^<>\s]+)\s*$/.exec(value);
  return m ? `<${m[1]}>` : null;
}

/** Decodes RFC 2047 encoded words in a header value (`=?UTF-8?Q?…?=`); undecodable words stay as they are. */
export function decodeEncodedWords(value: string): string {
  return value.replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=(\s+(?==\?))?/g, (whole, charset: string, enc: string, data: string) => {
    try {
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
      return new TextDecoder(charset.split('*')[0]!.toLowerCase()).decode(bytes);
    } catch {
      return whole;
    }
  });
}
