// The plain-text part of a message, made from its rendered HTML. Written here rather than taken
// from html-to-text because that library costs ~3 ms a message, more than the whole Liquid render,
// and rendering a second (text) Liquid template instead doubles the per-recipient cost
// (bench:render). Email HTML is a narrow dialect: blocks, tables, links, images; this covers it,
// and the tests compare its words with html-to-text's on every starter template.

// What a tag does to the text, by the tag name's code (see nameCode): slicing and lower-casing each
// tag's name to look it up was the largest share of this converter's time (bench:render profile).
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

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', zwnj: '', zwj: '', shy: '', hellip: '…', mdash: '—', ndash: '–', laquo: '«', raquo: '»', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', copy: '©', middot: '·', times: '×' };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code === 8204 || code === 8205 || code === 173 ? '' : String.fromCodePoint(code);
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

const HREF = /\shref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9 || c === 0xa0;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Trimmed, entities decoded: a line or link label whose whitespace runs are already single spaces. */
function finish(collapsed: string): string {
  const t = collapsed.trim();
  return t.includes('&') ? decode(t).replace(/\u00a0/g, ' ') : t;
}

/** Readable text from email HTML: blocks become lines, links "label [url]", images and hidden parts left out. */
export function htmlToText(html: string): string {
  let out = '';
  // The current line with its whitespace already collapsed (runs of spaces, tabs, line breaks and
  // no-break spaces become one space, the way a browser shows them); `space` is a run not yet
  // written because no word has followed it. Collapsing while scanning instead of per line
  // afterwards saved a fifth of this converter's time.
  let line = '';
  let space = false;
  let pendingBreak = 0;
  const links: { href: string; start: number }[] = [];
  const append = (s: string, from: number, to: number) => {
    let k = from;
    while (k < to) {
      if (isSpace(s.charCodeAt(k))) {
        space = true;
        k++;
        continue;
      }
      const start = k++;
      while (k < to && !isSpace(s.charCodeAt(k))) k++;
      const word = s.slice(start, k);
      line = line === '' ? word : space ? `${line} ${word}` : line + word;
      space = false;
    }
  };
  const flush = (breaks: number) => {
    const text = line === '' ? '' : finish(line);
    if (text !== '') {
      if (out !== '') out += pendingBreak >= 2 ? '\n\n' : '\n';
      out += text;
      pendingBreak = 0;
    }
    line = '';
    space = false;
    if (breaks > pendingBreak) pendingBreak = breaks;
    // A link whose label spans a block boundary keeps the part on the current line as its label.
    for (const l of links) l.start = 0;
  };
  const n = html.length;
  let i = 0;
  // A hand-rolled scanner: a regex tokenizer over 15 KB of table markup was slower than the Liquid render.
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      append(html, i, n);
      break;
    }
    // Most text between tags in email HTML is indentation, which append skips.
    if (lt > i) append(html, i, lt);
    if (html.charCodeAt(lt + 1) === 33 && html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt);
    if (gt < 0) break;
    let j = lt + 1;
    const closing = html.charCodeAt(j) === 47;
    if (closing) j++;
    const nameStart = j;
    while (j < gt && isNameChar(html.charCodeAt(j))) j++;
    i = gt + 1;
    if (j === nameStart) continue;
    const kind = KIND.get(nameCode(html, nameStart, j));
    if (kind === undefined) continue;
    // Skip what readers never see: the document head, styles, and the hidden preheader block.
    if (!closing && (kind === SKIP || (kind === DIV && html.slice(j, gt).includes('data-chapar-hidden')))) {
      const end = html.indexOf(`</${html.slice(nameStart, j).toLowerCase()}`, i);
      i = end < 0 ? n : html.indexOf('>', end) + 1 || n;
      continue;
    }
    if (kind === BREAK) flush(1);
    else if (kind === LINK) {
      if (!closing) {
        const m = HREF.exec(html.slice(j, gt));
        links.push({ href: m ? decode(m[1] ?? m[2] ?? m[3] ?? '') : '', start: line.length });
      } else {
        const link = links.pop();
        if (!link) continue;
        const label = finish(line.slice(link.start));
        const href = link.href.trim();
        const shown = href.replace(/^mailto:/i, '');
        if (href && !href.startsWith('#') && label !== shown && label !== href) {
          const add = label ? ` [${href}]` : href;
          append(add, 0, add.length);
        }
      }
    } else if (kind === PARAGRAPH) flush(2);
    else if (kind === LINE || kind === DIV) flush(1);
  }
  flush(0);
  return out.includes('\n\n\n') ? out.replace(/\n{3,}/g, '\n\n') : out;
}
