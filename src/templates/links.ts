import type { Utm } from '../domain/templates.ts';

const ANCHOR_HREF = /(<a\b[^>]*?\shref\s*=\s*)(["'])(.*?)\2/gis;

/**
 * Rewrites the href of every <a> in rendered HTML. `rewrite` gets the decoded URL and returns the
 * replacement, or null to leave the link alone.
 */
export function rewriteHtmlLinks(html: string, rewrite: (url: string) => string | null): string {
  return html.replace(ANCHOR_HREF, (whole, before: string, quote: string, raw: string) => {
    const url = decodeEntities(raw.trim());
    const next = rewrite(url);
    return next === null ? whole : `${before}${quote}${encodeAttr(next)}${quote}`;
  });
}

/** True for links that can be click-tracked: absolute http(s) URLs. */
export function isTrackable(url: string): boolean {
  return /^https?:\/\/[^\s"'<>]+$/i.test(url);
}

/** Adds the configured UTM parameters unless the link already carries any utm_ parameter. */
export function addUtm(url: string, utm: Utm | null): string {
  if (!utm) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if ([...u.searchParams.keys()].some((k) => k.toLowerCase().startsWith('utm_'))) return url;
  // A fixed order: stored settings (JSONB) do not keep key order, and links should not change between sends.
  for (const k of ['source', 'medium', 'campaign', 'content'] as const) if (utm[k]) u.searchParams.set(`utm_${k}`, utm[k]);
  return u.toString();
}

function decodeEntities(s: string): string {
  return s.replace(/&(amp|quot|#39|lt|gt);/g, (_m, e: string) => ({ amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>' })[e]!);
}

function encodeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
