// The plain-text part of a message, made from its rendered HTML. Written here rather than taken
// from html-to-text because that library costs ~3 ms a message, more than the whole Liquid render,
// and rendering a second (text) Liquid template instead doubles the per-recipient cost
// (bench:render). Email HTML is a narrow dialect: blocks, tables, links, images; this covers it,
// and the tests compare its words with html-to-text's on every starter template.

/** Elements whose content is never text. */
const SKIP_CONTENT = new Set(['head', 'style', 'script', 'title']);
const PARAGRAPH = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'ul', 'ol', 'blockquote', 'hr']);
const LINE = new Set(['div', 'tr', 'td', 'th', 'li', 'section', 'center', 'article', 'header', 'footer', 'tbody', 'thead']);
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

function hasText(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return true;
  }
  return false;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** Readable text from email HTML: blocks become lines, links "label [url]", images and hidden parts left out. */
export function htmlToText(html: string): string {
  const out: string[] = [];
  let line = '';
  let pendingBreak = 0;
  const links: { href: string; start: number }[] = [];
  const clean = (raw: string) => {
    const t = raw.replace(/[ \t\r\n\u00a0]+/g, ' ').trim();
    return t.includes('&') ? decode(t).replace(/\u00a0/g, ' ') : t;
  };
  const flush = (breaks: number) => {
    const text = line === '' ? '' : clean(line);
    if (text !== '') {
      if (out.length > 0) out.push('\n'.repeat(Math.max(pendingBreak, 1)));
      out.push(text);
      pendingBreak = 0;
    }
    line = '';
    pendingBreak = Math.max(pendingBreak, breaks);
    // A link whose label spans a block boundary keeps the part on the current line as its label.
    for (const l of links) l.start = 0;
  };
  const body = html;
  const n = body.length;
  let i = 0;
  // A hand-rolled scanner: a regex tokenizer over 15 KB of table markup was slower than the Liquid render.
  while (i < n) {
    const lt = body.indexOf('<', i);
    if (lt < 0) {
      line += body.slice(i);
      break;
    }
    // Most text between tags in email HTML is indentation; skip it while the line is still empty.
    if (lt > i && (line !== '' || hasText(body, i, lt))) line += body.slice(i, lt);
    if (body.startsWith('<!--', lt)) {
      const end = body.indexOf('-->', lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const gt = body.indexOf('>', lt);
    if (gt < 0) break;
    let j = lt + 1;
    const closing = body.charCodeAt(j) === 47;
    if (closing) j++;
    const nameStart = j;
    while (j < gt && isNameChar(body.charCodeAt(j))) j++;
    const tag = body.slice(nameStart, j).toLowerCase();
    i = gt + 1;
    if (tag === '') continue;
    // Skip what readers never see: the document head, styles, and the hidden preheader block.
    if (!closing && (SKIP_CONTENT.has(tag) || (tag === 'div' && body.slice(j, gt).includes('data-chapar-hidden')))) {
      const end = body.indexOf(`</${tag}`, i);
      i = end < 0 ? n : body.indexOf('>', end) + 1 || n;
      continue;
    }
    if (tag === 'br') flush(1);
    else if (tag === 'a') {
      if (!closing) {
        const m = HREF.exec(body.slice(j, gt));
        links.push({ href: m ? decode(m[1] ?? m[2] ?? m[3] ?? '') : '', start: line.length });
      } else {
        const link = links.pop();
        if (!link) continue;
        const label = clean(line.slice(link.start));
        const href = link.href.trim();
        const shown = href.replace(/^mailto:/i, '');
        if (href && !href.startsWith('#') && label !== shown && label !== href) line += label ? ` [${href}]` : href;
      }
    } else if (PARAGRAPH.has(tag)) flush(2);
    else if (LINE.has(tag)) flush(1);
  }
  flush(0);
  return out.join('').replace(/\n{3,}/g, '\n\n');
}
