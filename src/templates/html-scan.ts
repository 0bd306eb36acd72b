// The scanner under the text part (html-text.ts): it reads email HTML and reports, in document
// order, the text between tags, block boundaries and links. It can be fed the document in pieces
// (the writes of a Liquid render) and reports exactly what it would for the whole document at
// once, so that a template's static pieces can be scanned once and replayed (see StaticPieces).

/** What the scanner reports, in document order. */
export interface TextEvents {
  /** Text between tags, `s[from, to)`, entities still encoded. */
  text(s: string, from: number, to: number): void;
  /** A block boundary: 1 starts a new line, 2 a new paragraph. */
  block(breaks: number): void;
  linkOpen(href: string): void;
  linkClose(): void;
}

// What a tag does to the text, by the tag name's code (see nameCode): slicing and lower-casing each
// tag's name to look it up was the largest share of the converter's time (bench:render profile).
const SKIP = 1; // content is never text
const PARAGRAPH = 2;
const LINE = 3;
const BREAK = 4;
const LINK = 5;
const DIV = 6; // a line, unless it is the hidden preheader block
const KIND = new Map<number, number>();
for (const [kind, names] of [
  [SKIP, 'head style script title'],
  [PARAGRAPH, 'p h1 h2 h3 h4 h5 h6 table ul ol blockquote hr'],
  [LINE, 'tr td th li section center article header footer tbody thead'],
  [BREAK, 'br'],
  [LINK, 'a'],
  [DIV, 'div'],
] as const) {
  for (const name of names.split(' ')) KIND.set(nameCode(name, 0, name.length), kind);
}

/**
 * A tag name (letters and digits, any case) as a number, exact for names up to 10 characters
 * (37^10 < 2^53); -1 for longer names, which no tag of interest has.
 */
function nameCode(s: string, from: number, to: number): number {
  if (to - from > 10) return -1;
  let code = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    code = code * 37 + (c <= 57 ? c - 47 : (c | 32) - 86);
  }
  return code;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', zwnj: '', zwj: '', shy: '', hellip: '…', mdash: '—', ndash: '–', laquo: '«', raquo: '»', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', copy: '©', middot: '·', times: '×' };

/**
 * Decodes the character references email HTML uses (`&amp;`, `&#1587;`, `&#x2764;`); zero-width
 * joiners and soft hyphens vanish, unknown names stay as written, and a number that is no
 * character becomes U+FFFD, as browsers show it. A loop, not a regex replace with a callback,
 * which cost as much as the rest of a line's handling.
 */
export function decodeText(s: string): string {
  let amp = s.indexOf('&');
  if (amp < 0) return s;
  let out = '';
  let done = 0;
  while (amp >= 0) {
    const semi = s.indexOf(';', amp + 1);
    if (semi < 0) break;
    const decoded = reference(s, amp + 1, semi);
    if (decoded === undefined) {
      amp = s.indexOf('&', amp + 1);
      continue;
    }
    out += s.slice(done, amp) + decoded;
    done = semi + 1;
    amp = s.indexOf('&', done);
  }
  return done === 0 ? s : out + s.slice(done);
}

// The character that s[from, to) (between '&' and ';') names, or undefined if it names none.
function reference(s: string, from: number, to: number): string | undefined {
  if (from === to) return undefined;
  if (s.charCodeAt(from) !== 35) {
    for (let i = from; i < to; i++) if (!isLetter(s.charCodeAt(i))) return undefined;
    const name = s.slice(from, to).toLowerCase();
    return Object.hasOwn(ENTITIES, name) ? ENTITIES[name] : undefined;
  }
  const hex = from + 1 < to && (s.charCodeAt(from + 1) | 32) === 120;
  const digits = s.slice(from + (hex ? 2 : 1), to);
  if (digits === '' || !(hex ? /^[0-9a-f]+$/i : /^[0-9]+$/).test(digits)) return undefined;
  const code = parseInt(digits, hex ? 16 : 10);
  if (code === 8204 || code === 8205 || code === 173) return '';
  return code <= 0x10ffff ? String.fromCodePoint(code) : '\ufffd';
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

const HREF = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;

// Where the scanner is between two pieces.
const TEXT = 0; // between tags
const TAG = 1; // inside a tag; `pending` holds it from its '<'
const COMMENT = 2; // inside <!-- -->; `pending` holds an end that could begin '-->' (it may straddle two pieces)
const SKIP_TO_CLOSE = 3; // inside <head>, <style>… or the hidden preheader, looking for `closeTag`
const SKIP_TO_GT = 4; // after that closing tag's name, looking for its '>'

/** The scanner's state between pieces (what a replayed piece leaves behind). */
export interface ScanState {
  mode: number;
  pending: string;
  closeTag: string;
}

/** Reads email HTML, whole or in pieces, and reports its text, blocks and links to `TextEvents`. */
export class HtmlScanner {
  mode = TEXT;
  pending = '';
  closeTag = '';

  /** True between tags: where a recorded piece that starts with text can be replayed. */
  get betweenTags(): boolean {
    return this.mode === TEXT;
  }

  /** True inside an ordinary tag (not one that might still turn out to open a comment). */
  get insideTag(): boolean {
    return this.mode === TAG && !couldOpenComment(this.pending);
  }

  /** Where the scanner stands, as a short string (for recordings keyed by it). */
  key(): string {
    return `${this.mode}${this.closeTag}`;
  }

  state(): ScanState {
    return { mode: this.mode, pending: this.pending, closeTag: this.closeTag };
  }

  restore(s: ScanState): void {
    this.mode = s.mode;
    this.pending = s.pending;
    this.closeTag = s.closeTag;
  }

  /** Scans `s` from `i` on. */
  feed(s: string, ev: TextEvents, i = 0): void {
    const n = s.length;
    // A hand-rolled scanner: a regex tokenizer over 15 KB of table markup was slower than the Liquid render.
    while (i < n) {
      if (this.mode !== TEXT) {
        i = this.resume(s, i, ev);
        continue;
      }
      const lt = s.indexOf('<', i);
      if (lt < 0) {
        ev.text(s, i, n);
        return;
      }
      // Most text between tags in email HTML is indentation, which the receiver skips.
      if (lt > i) ev.text(s, i, lt);
      i = this.open(s, lt, ev);
    }
  }

  /**
   * Ends the tag held in `pending` at `s[gt]` (the first '>' of `s`) and reports it; the caller
   * goes on after `gt`. Only while `insideTag`.
   */
  closePendingTag(s: string, gt: number, ev: TextEvents): void {
    const p = this.pending;
    this.mode = TEXT;
    this.pending = '';
    // Most tags need only their name, which the pending part holds: no need to join the parts.
    let j = 1;
    const closing = p.charCodeAt(j) === 47;
    if (closing) j++;
    const nameStart = j;
    while (j < p.length && isNameChar(p.charCodeAt(j))) j++;
    if (j < p.length) {
      if (j === nameStart) return;
      const kind = KIND.get(nameCode(p, nameStart, j));
      if (kind === undefined) return;
      if (closing || (kind !== LINK && kind !== SKIP && kind !== DIV)) {
        this.act(kind, closing, '', ev);
        return;
      }
    }
    const tag = p + s.slice(0, gt + 1);
    this.tag(tag, 0, tag.length - 1, ev);
  }

  // A construct starting with the '<' at s[lt]; returns where scanning goes on.
  private open(s: string, lt: number, ev: TextEvents): number {
    const n = s.length;
    if (lt + 1 === n || s.charCodeAt(lt + 1) === 33) {
      if (s.startsWith('<!--', lt)) {
        this.mode = COMMENT;
        this.pending = '';
        return lt + 4;
      }
      if (n - lt < 4 && couldOpenComment(s.slice(lt))) {
        this.mode = TAG;
        this.pending = s.slice(lt);
        return n;
      }
    }
    const gt = s.indexOf('>', lt);
    if (gt < 0) {
      this.mode = TAG;
      this.pending = s.slice(lt);
      return n;
    }
    this.tag(s, lt, gt, ev);
    return gt + 1;
  }

  // Goes on with a construct an earlier piece left open; returns where scanning goes on.
  private resume(s: string, i: number, ev: TextEvents): number {
    switch (this.mode) {
      case TAG: {
        if (couldOpenComment(this.pending)) {
          // Too little was seen to tell a comment from a tag: scan again with the pieces joined.
          const joined = this.pending + s.slice(i);
          this.mode = TEXT;
          this.pending = '';
          this.feed(joined, ev);
          return s.length;
        }
        const gt = s.indexOf('>', i);
        if (gt < 0) {
          this.pending += s.slice(i);
          return s.length;
        }
        const tag = this.pending + s.slice(i, gt + 1);
        this.mode = TEXT;
        this.pending = '';
        this.tag(tag, 0, tag.length - 1, ev);
        return gt + 1;
      }
      case COMMENT: {
        const end = this.find(s, i, '-->');
        if (end < 0) return s.length;
        this.mode = TEXT;
        return end;
      }
      case SKIP_TO_CLOSE: {
        const end = this.find(s, i, this.closeTag);
        if (end < 0) return s.length;
        this.mode = SKIP_TO_GT;
        return end;
      }
      default: {
        const gt = s.indexOf('>', i);
        if (gt < 0) return s.length;
        this.mode = TEXT;
        return gt + 1;
      }
    }
  }

  // Where `term` ends in the characters kept from earlier pieces followed by s[i…], or -1, then
  // keeping the end that could begin `term` (it may straddle this piece and the next). Usually
  // nothing is kept, so the next static piece can be replayed (see StaticPieces).
  private find(s: string, i: number, term: string): number {
    const keep = term.length - 1;
    const tail = this.pending;
    if (tail !== '') {
      const k = (tail + s.slice(i, i + keep)).indexOf(term);
      if (k >= 0) {
        this.pending = '';
        return i + k + term.length - tail.length;
      }
    }
    const k = s.indexOf(term, i);
    if (k >= 0) {
      this.pending = '';
      return k + term.length;
    }
    const end = s.length - i >= keep ? s.slice(s.length - keep) : (tail + s.slice(i)).slice(-keep);
    this.pending = '';
    for (let k = end.length; k > 0; k--) {
      if (term.startsWith(end.slice(end.length - k))) {
        this.pending = end.slice(end.length - k);
        break;
      }
    }
    return -1;
  }

  // The tag s[lt…gt]: a block boundary, a link, the start of a part readers never see, or nothing.
  private tag(s: string, lt: number, gt: number, ev: TextEvents): void {
    let j = lt + 1;
    const closing = s.charCodeAt(j) === 47;
    if (closing) j++;
    const nameStart = j;
    while (j < gt && isNameChar(s.charCodeAt(j))) j++;
    if (j === nameStart) return;
    const kind = KIND.get(nameCode(s, nameStart, j));
    if (kind === undefined) return;
    // Skip what readers never see: the document head, styles, and the hidden preheader block.
    if (!closing && (kind === SKIP || (kind === DIV && s.slice(j, gt).includes('data-chapar-hidden')))) {
      this.mode = SKIP_TO_CLOSE;
      this.closeTag = `</${s.slice(nameStart, j).toLowerCase()}`;
      this.pending = '';
      return;
    }
    this.act(kind, closing, kind === LINK && !closing ? s.slice(j, gt) : '', ev);
  }

  // What a tag of a kind does (`attributes` only read for an opening link).
  private act(kind: number, closing: boolean, attributes: string, ev: TextEvents): void {
    if (kind === PARAGRAPH) ev.block(2);
    else if (kind === LINE || kind === DIV || kind === BREAK) ev.block(1);
    else if (kind === LINK) {
      if (closing) ev.linkClose();
      else {
        const m = HREF.exec(attributes);
        ev.linkOpen(m ? decodeText(m[1] ?? m[2] ?? m[3] ?? '') : '');
      }
    }
  }
}

// '<', '<!' and '<!-' may still become '<!--'.
function couldOpenComment(s: string): boolean {
  return s.length < 4 && '<!--'.startsWith(s);
}
