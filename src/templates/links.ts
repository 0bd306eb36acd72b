import type { Utm } from '../domain/templates.ts';

/** True for links that can be click-tracked: absolute http(s) URLs. */
export function isTrackable(url: string): boolean {
  return /^https?:\/\/[^\s"'<>]+$/i.test(url);
}

/** Adds the configured UTM parameters unless the link already carries any utm_ parameter. */
export function addUtm(url: string, utm: Utm | null): string {
  if (!utm) return url;
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const query = base.indexOf('?');
  if (query >= 0 && /(^|&)utm_/i.test(base.slice(query + 1))) return url;
  // A fixed order: stored settings (JSONB) do not keep key order, and links should not change between sends.
  const params = (['source', 'medium', 'campaign', 'content'] as const)
    .filter((k) => utm[k])
    .map((k) => `utm_${k}=${encodeURIComponent(utm[k]!)}`)
    .join('&');
  if (params === '') return url;
  const sep = query < 0 ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${sep}${params}${hash < 0 ? '' : url.slice(hash)}`;
}

const DECODED: Record<string, string> = { amp: '&', quot: '"', '#39': "'", lt: '<', gt: '>' };
const ENCODED: Record<string, string> = { '&': '&amp;', '"': '&quot;', '<': '&lt;', '>': '&gt;' };

// Both run for every link of every message; most links need neither, hence the checks first.

/** Decodes the entities an attribute value may hold. */
export function decodeEntities(s: string): string {
  return s.includes('&') ? s.replace(/&(amp|quot|#39|lt|gt);/g, (_m, e: string) => DECODED[e]!) : s;
}

/** Escapes text for a double-quoted HTML attribute. */
export function encodeAttr(s: string): string {
  return /[&"<>]/.test(s) ? s.replace(/[&"<>]/g, (c) => ENCODED[c]!) : s;
}
