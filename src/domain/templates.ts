/** UTM parameters added to tracked links (Google Analytics attributes the visit to the email). */
export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  content?: string;
}

/** The kind of mail a template makes: different consent rules and headers apply. */
export type TemplateKind = 'marketing' | 'transactional';

/** One locale's version of a template, as its author wrote it. */
export interface TemplateVariantInput {
  subject: string;
  preheader: string;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
  bodyType: 'mjml' | 'html';
  body: string;
  textBody: string | null;
}

/** What a caller sends to create or replace a template. */
export interface TemplateInput {
  key: string;
  name: string;
  kind: TemplateKind;
  /** Required for marketing: the topic whose subscribers may receive it. */
  topic: string | null;
  defaultLocale: string;
  trackOpens: boolean;
  trackClicks: boolean;
  utm: Utm | null;
  variants: Record<string, TemplateVariantInput>;
}

/** A stored template with its variants. */
export interface Template extends TemplateInput {
  id: number;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export const TEMPLATE_KEY = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Picks the variant for a reader's locale: the exact locale (fa-IR), then its language (fa);
 * failing that, the store's default locale the same way, then the template's default.
 */
export function pickVariantLocale(available: readonly string[], wanted: string | null, storeDefault: string, templateDefault: string): string {
  const match = (want: string): string | undefined => {
    const exact = available.find((l) => l.toLowerCase() === want.toLowerCase());
    if (exact) return exact;
    const lang = want.split('-')[0]!.toLowerCase();
    return available.find((l) => l.toLowerCase() === lang) ?? available.find((l) => l.split('-')[0]!.toLowerCase() === lang);
  };
  return (wanted ? match(wanted) : undefined) ?? match(storeDefault) ?? (available.includes(templateDefault) ? templateDefault : available[0]!);
}

/**
 * What a marketing template must show (CAN-SPAM, CASL, Gmail/Yahoo): the store's postal
 * address and a visible unsubscribe link. Returns the missing pieces by field.
 */
export function missingMarketingFooter(v: TemplateVariantInput, storeAddress: string): { field: string; message: string }[] {
  const missing: { field: string; message: string }[] = [];
  const hasUnsubLink = /href\s*=\s*["']\s*\{\{-?\s*unsubscribe_url\s*-?\}\}\s*["']/.test(v.body);
  if (!hasUnsubLink) missing.push({ field: 'body', message: 'a marketing email needs a visible unsubscribe link: <a href="{{ unsubscribe_url }}">Unsubscribe</a>' });
  const hasAddress = /\{\{-?\s*store\.address\b/.test(v.body) || (storeAddress.trim() !== '' && v.body.includes(storeAddress.trim()));
  if (!hasAddress) missing.push({ field: 'body', message: "a marketing email must show the store's postal address: add {{ store.address }} to the footer" });
  if (v.textBody !== null && !/\{\{-?\s*unsubscribe_url\s*-?\}\}/.test(v.textBody)) {
    missing.push({ field: 'textBody', message: 'the text part of a marketing email needs the unsubscribe link: {{ unsubscribe_url }}' });
  }
  return missing;
}
