// The plain-text part of a message, made from its rendered HTML. Written here rather than taken
// from html-to-text because that library costs ~3 ms a message, more than the whole Liquid render,
// and rendering a second (text) Liquid template instead doubles the per-recipient cost
// (bench:render). Email HTML is a narrow dialect: blocks, tables, links, images; this covers it,
// and the tests compare its words with html-to-text's on every starter template.
//
// Composition builds the text while Liquid writes the HTML (HtmlTextWriter): most of a message is
// the template's static markup, whose scan is recorded once per template (StaticPieces) and
// replayed, so only what Liquid fills in is scanned per recipient. Scanning the whole 15 KB
// document per message was a fifth of composition's time.
import { decodeText, HtmlScanner, type ScanState, type TextEvents } from './html-scan.ts';

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 0xa0;
}

/** Trimmed, entities decoded: a line or link label whose whitespace runs are already single spaces. */
function finish(collapsed: string): string {
  const t = decodeText(collapsed.trim());
  return t.includes('\u00a0') ? t.replace(/\u00a0/g, ' ') : t;
}

/**
 * Text from a run of HTML text with its whitespace collapsed: the words joined by single spaces,
 * and whether whitespace came before the first and after the last (all of it, for blank runs).
 */
interface Words {
  words: string;
  lead: boolean;
  trail: boolean;
}

function collapse(s: string, from: number, to: number): Words {
  let words = '';
  let k = from;
  while (k < to) {
    if (isSpace(s.charCodeAt(k))) {
      k++;
      continue;
    }
    const start = k++;
    while (k < to && !isSpace(s.charCodeAt(k))) k++;
    words = words === '' ? s.slice(start, k) : `${words} ${s.slice(start, k)}`;
  }
  return { words, lead: isSpace(s.charCodeAt(from)), trail: isSpace(s.charCodeAt(to - 1)) };
}

/** Lines of text from the scanner's events: blocks become lines, links "label [url]". */
class TextBuilder implements TextEvents {
  private out = '';
  // The current line with its whitespace already collapsed (runs of spaces, tabs, line breaks and
  // no-break spaces become one space, the way a browser shows them); `space` is a run not yet
  // written because no word has followed it.
  private line = '';
  private space = false;
  private pendingBreak = 0;
  private readonly links: { href: string; start: number }[] = [];

  text(s: string, from: number, to: number): void {
    let k = from;
    while (k < to) {
      if (isSpace(s.charCodeAt(k))) {
        this.space = true;
        k++;
        continue;
      }
      const start = k++;
      while (k < to && !isSpace(s.charCodeAt(k))) k++;
      this.word(s.slice(start, k));
    }
  }

  /** The same as `text` for a run collapsed beforehand. */
  words(w: Words): void {
    if (w.words === '') {
      this.space = true;
      return;
    }
    if (w.lead) this.space = true;
    this.word(w.words);
    this.space = w.trail;
  }

  block(breaks: number): void {
    const text = this.line === '' ? '' : finish(this.line);
    if (text !== '') {
      if (this.out !== '') this.out += this.pendingBreak >= 2 ? '\n\n' : '\n';
      this.out += text;
      this.pendingBreak = 0;
    }
    this.line = '';
    this.space = false;
    if (breaks > this.pendingBreak) this.pendingBreak = breaks;
    // A link whose label spans a block boundary keeps the part on the current line as its label.
    for (const l of this.links) l.start = 0;
  }

  linkOpen(href: string): void {
    this.links.push({ href, start: this.line.length });
  }

  linkClose(): void {
    const link = this.links.pop();
    if (!link) return;
    const label = finish(this.line.slice(link.start));
    const href = link.href.trim();
    const shown = /^mailto:/i.test(href) ? href.slice(7) : href;
    if (href && !href.startsWith('#') && label !== shown && label !== href) {
      const add = label ? ` [${href}]` : href;
      this.text(add, 0, add.length);
    }
  }

  result(): string {
    this.block(0);
    return this.out.includes('\n\n\n') ? this.out.replace(/\n{3,}/g, '\n\n') : this.out;
  }

  private word(w: string): void {
    this.line = this.line === '' ? w : this.space ? `${this.line} ${w}` : this.line + w;
    this.space = false;
  }
}

/** What scanning a piece from between tags reports, kept to be replayed, and where it leaves the scanner. */
interface Recording {
  events: ({ k: 'text'; w: Words } | { k: 'block'; breaks: number } | { k: 'open'; href: string } | { k: 'close' })[];
  end: ScanState;
}

/** Keeps a scan's events, merging what replaying would do the same with fewer steps. */
class Recorder implements TextEvents {
  readonly events: Recording['events'] = [];

  text(s: string, from: number, to: number): void {
    const last = this.events.at(-1);
    const w = collapse(s, from, to);
    // Blanks right after a block boundary change nothing: the line is empty.
    if (w.words === '' && (last?.k === 'block' || (last?.k === 'text' && last.w.words === ''))) return;
    this.events.push({ k: 'text', w });
  }

  block(breaks: number): void {
    let last = this.events.at(-1);
    // Blanks before a boundary change nothing either; two boundaries act as the larger one.
    while (last?.k === 'text' && last.w.words === '') {
      this.events.pop();
      last = this.events.at(-1);
    }
    if (last?.k === 'block') last.breaks = Math.max(last.breaks, breaks);
    else this.events.push({ k: 'block', breaks });
  }

  linkOpen(href: string): void {
    this.events.push({ k: 'open', href });
  }

  linkClose(): void {
    this.events.push({ k: 'close' });
  }
}

function record(piece: string, from: number, start?: ScanState): Recording {
  const scanner = new HtmlScanner();
  if (start) scanner.restore(start);
  const recorder = new Recorder();
  scanner.feed(piece, recorder, from);
  return { events: recorder.events, end: scanner.state() };
}

function replay(r: Recording, into: TextBuilder): void {
  for (const e of r.events) {
    if (e.k === 'text') into.words(e.w);
    else if (e.k === 'block') into.block(e.breaks);
    else if (e.k === 'open') into.linkOpen(e.href);
    else into.linkClose();
  }
}

/** The recorded scans of one static piece, by where the scanner stood when it came. */
interface PieceScans {
  /** Met between tags. */
  fromText?: Recording;
  /** Met inside a tag: the piece's first '>' ends it; the rest, scanned from between tags. */
  afterTag?: { gt: number; rest: Recording | null };
  /** Met inside a comment or a skipped element (by ScanState.key), nothing carried over. */
  inside?: Map<string, Recording>;
}

/**
 * The static pieces of one template's HTML (the text between its Liquid tags), each scanned once,
 * on first use, and replayed for every recipient. Only these pieces are recorded, never what
 * Liquid fills in, so the memory is bounded by the template and holds no one's data.
 */
export class StaticPieces {
  private readonly pieces: Set<string>;
  // Keyed by the very strings the render writes, which V8 then compares by identity, where the
  // set's equal copies are compared character by character.
  private readonly scans = new Map<string, PieceScans>();

  constructor(pieces: Iterable<string>) {
    this.pieces = new Set(pieces);
  }

  /** Feeds one piece: replayed when it is a known static piece, scanned otherwise. */
  feed(piece: string, scanner: HtmlScanner, text: TextBuilder): void {
    let scans = this.scans.get(piece);
    if (scans === undefined) {
      if (!this.pieces.has(piece)) {
        scanner.feed(piece, text);
        return;
      }
      this.scans.set(piece, (scans = {}));
    }
    if (scanner.betweenTags) {
      const r = (scans.fromText ??= record(piece, 0));
      replay(r, text);
      scanner.restore(r.end);
    } else if (scanner.insideTag) {
      let a = scans.afterTag;
      if (!a) {
        const gt = piece.indexOf('>');
        scans.afterTag = a = { gt, rest: gt < 0 ? null : record(piece, gt + 1) };
      }
      if (!a.rest) {
        scanner.pending += piece;
        return;
      }
      // The tag itself holds what Liquid wrote into it (a link's address), so it is read each time.
      scanner.closePendingTag(piece, a.gt, text);
      if (scanner.betweenTags) {
        replay(a.rest, text);
        scanner.restore(a.rest.end);
      } else scanner.feed(piece, text, a.gt + 1);
    } else if (scanner.pending === '') {
      const key = scanner.key();
      scans.inside ??= new Map();
      let r = scans.inside.get(key);
      if (!r) scans.inside.set(key, (r = record(piece, 0, scanner.state())));
      replay(r, text);
      scanner.restore(r.end);
    } else scanner.feed(piece, text);
  }
}

/**
 * Builds the text part while the HTML is written, piece by piece (a Liquid render's writes). The
 * result is exactly htmlToText of the whole HTML, however the pieces fall.
 */
export class HtmlTextWriter {
  private readonly scanner = new HtmlScanner();
  private readonly text = new TextBuilder();

  constructor(private readonly pieces?: StaticPieces) {}

  write(piece: string): void {
    if (this.pieces) this.pieces.feed(piece, this.scanner, this.text);
    else this.scanner.feed(piece, this.text);
  }

  /** The text; the writer is spent. */
  finish(): string {
    return this.text.result();
  }
}

/** Readable text from email HTML: blocks become lines, links "label [url]", images and hidden parts left out. */
export function htmlToText(html: string): string {
  const w = new HtmlTextWriter();
  w.write(html);
  return w.finish();
}
