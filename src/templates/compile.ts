import mjml2html from 'mjml';
import juice from 'juice';
import type { Liquid } from 'liquidjs';

/** Where a template's source is wrong, precise enough to jump to. */
export interface TemplateProblem {
  field: string;
  message: string;
  line?: number;
  column?: number;
}

/** The author's source of one locale variant. */
export interface VariantSource {
  subject: string;
  preheader: string;
  bodyType: 'mjml' | 'html';
  body: string;
  /** A hand-written text part; otherwise one is generated from the HTML. */
  textBody: string | null;
}

/** The per-version compile output: the HTML Liquid source, ready to render per recipient. */
export interface CompiledVariant {
  html: string;
}

// A hidden preheader right after <body>: the preview line inboxes show next to the subject.
// The zero-width padding keeps clients from pulling body text into the preview. No colour or
// tiny font: SpamAssassin scores those as hidden text (HTML_FONT_LOW_CONTRAST, FONT_INVIS_*).
const PREHEADER_BLOCK =
  '<div data-chapar-hidden style="display:none;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all">{{ preheader }}' +
  '&#8204;&nbsp;'.repeat(40) +
  '</div>';

/**
 * Compiles a variant once per version: MJML (or raw HTML with its <style> inlined by juice) to
 * responsive, inlined HTML that still holds its Liquid, with links marked for tracking and slots
 * for the preheader and open pixel. MJML never runs per recipient; only Liquid does.
 */
export async function compileVariant(src: VariantSource, dir: 'ltr' | 'rtl', lang: string): Promise<{ ok: true; value: CompiledVariant } | { ok: false; problems: TemplateProblem[] }> {
  let html: string;
  if (src.bodyType === 'mjml') {
    if (!/<mjml[\s>]/.test(src.body)) return { ok: false, problems: [{ field: 'body', message: 'an MJML body must start with <mjml>', line: 1 }] };
    let result: Awaited<ReturnType<typeof mjml2html>>;
    try {
      // No web fonts: they are external CSS, which many clients strip and spam filters count against us.
      result = await mjml2html(src.body, { validationLevel: 'soft', keepComments: false, fonts: {} });
    } catch (err) {
      return { ok: false, problems: [{ field: 'body', message: `MJML could not be read: ${(err as Error).message}` }] };
    }
    if (result.errors.length > 0) {
      return { ok: false, problems: result.errors.map((e) => ({ field: 'body', message: e.message, line: e.line })) };
    }
    html = stripExternalCss(result.html);
  } else {
    if (/<link[^>]+rel=["']?stylesheet/i.test(src.body)) {
      return { ok: false, problems: [{ field: 'body', message: 'external stylesheets (<link rel="stylesheet">) are stripped by mail clients; put the CSS in a <style> block' }] };
    }
    html = juice(src.body, { preserveMediaQueries: true, removeStyleTags: false });
  }
  html = instrumentLinks(setDocumentDirection(html, dir, lang));
  html = html.replace(/<body([^>]*)>/i, (m) => `${m}${PREHEADER_BLOCK}`);
  html = /<\/body>/i.test(html) ? html.replace(/<\/body>/i, `${PIXEL_SLOT}</body>`) : html + PIXEL_SLOT;
  return { ok: true, value: { html } };
}

/** Parses every Liquid part, returning each error with its line and column. */
export function checkLiquid(liquid: Liquid, parts: Record<string, string>): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const [field, source] of Object.entries(parts)) {
    try {
      liquid.parse(source);
    } catch (err) {
      const e = err as Error & { token?: { getPosition?: () => [number, number] } };
      const pos = e.token?.getPosition?.();
      problems.push({ field, message: e.message.replace(/, line:\d+, col:\d+$/, ''), ...(pos ? { line: pos[0], column: pos[1] } : {}) });
    }
  }
  return problems;
}

/** Removes <link rel="stylesheet"> and CSS @import (mj-font, or fonts an author names). */
function stripExternalCss(html: string): string {
  return html.replace(/<link\b[^>]*rel=["']?stylesheet["']?[^>]*>\s*/gi, '').replace(/@import\s+url\([^)]*\)\s*;?/gi, '');
}

/** Where composition puts the open pixel (or nothing, when opens are not tracked). */
const PIXEL_SLOT = '{{ __pixel }}';

// Links Chapar makes itself stay direct; so do mail, phone and in-page links.
const UNTRACKED = /^(mailto:|tel:|sms:|#)|\b(unsubscribe_url|preferences_url|view_in_browser_url)\b/i;

/**
 * Marks every link for tracking once, at compile time: its href becomes a Liquid expression ending
 * in the `track_link` filter, which signs it (and adds UTM) during the per-recipient render, so
 * the text part made from the rendered HTML carries the same tracked links.
 */
function instrumentLinks(html: string): string {
  return html.replace(/(<a\b[^>]*?\shref=)(?:"([^"]*)"|'([^']*)')/gi, (whole, before: string, dq: string | undefined, sq: string | undefined) => {
    const value = (dq ?? sq ?? '').trim();
    if (value === '' || UNTRACKED.test(value)) return whole;
    const single = /^\{\{-?([^{}]*?)-?\}\}$/.exec(value);
    const expr = single ? `{{ ${single[1]!.trim()} | track_link }}` : `{% capture __href %}${value}{% endcapture %}{{ __href | track_link }}`;
    return `${before}"${expr.replace(/"/g, "'")}"`;
  });
}

// Readers of right-to-left languages need dir="rtl" on the document so that mail clients lay the
// whole message out right to left, not just the paragraphs that happen to be aligned right.
function setDocumentDirection(html: string, dir: 'ltr' | 'rtl', lang: string): string {
  return html.replace(/<html([^>]*)>/i, (_m, attrs: string) => {
    const rest = attrs.replace(/\s(dir|lang)="[^"]*"/gi, '');
    return `<html${rest} lang="${lang}" dir="${dir}">`;
  });
}
