import type { PreferenceView } from '../../services/preferences.ts';

// The small pages people see after clicking an email's unsubscribe or preference link. Plain
// HTML with inline CSS, no scripts, in the reader's language (Persian right to left).

/** The headers every public page goes with: never cached, no scripts, no referrer; `csp` widens the policy (the web version's images). */
export function pageHeaders(csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"): Record<string, string> {
  return { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': csp, 'referrer-policy': 'no-referrer' };
}

/** The languages of the public pages. */
export type Lang = 'en' | 'fa';

const TEXT = {
  en: {
    unsubTitle: 'Unsubscribe',
    unsubAsk: (email: string, what: string) => `Stop sending ${what} to ${email}?`,
    allMail: 'marketing email',
    unsubButton: 'Unsubscribe',
    unsubDone: (email: string, what: string) => `${email} will no longer get ${what}.`,
    manage: 'Manage your email preferences',
    prefsTitle: 'Email preferences',
    prefsIntro: (email: string) => `Choose what we send to ${email}.`,
    unsubAll: 'Unsubscribe from all marketing email',
    save: 'Save preferences',
    saved: 'Your preferences are saved.',
    invalid: 'This link is not valid or no longer works.',
  },
  fa: {
    unsubTitle: 'لغو اشتراک',
    unsubAsk: (email: string, what: string) => `ارسال ${what} به ${email} متوقف شود؟`,
    allMail: 'ایمیل‌های تبلیغاتی',
    unsubButton: 'لغو اشتراک',
    unsubDone: (email: string, what: string) => `از این پس ${what} به ${email} فرستاده نمی‌شود.`,
    manage: 'تنظیم ایمیل‌هایی که دریافت می‌کنید',
    prefsTitle: 'تنظیمات ایمیل',
    prefsIntro: (email: string) => `انتخاب کنید چه ایمیل‌هایی به ${email} فرستاده شود.`,
    unsubAll: 'لغو اشتراک همه‌ی ایمیل‌های تبلیغاتی',
    save: 'ذخیره',
    saved: 'تنظیمات شما ذخیره شد.',
    invalid: 'این پیوند معتبر نیست یا دیگر کار نمی‌کند.',
  },
} as const;

/** The page language for a contact's locale. */
export function langOf(locale: string | null): Lang {
  return locale?.startsWith('fa') ? 'fa' : 'en';
}

/** Escapes text for HTML content and double-quoted attributes. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A whole public page (title and body HTML) in the shared layout, right to left for Persian. */
export function page(lang: Lang, title: string, body: string): string {
  return `<!doctype html><html lang="${lang}" dir="${lang === 'fa' ? 'rtl' : 'ltr'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Tahoma,sans-serif;background:#f4f4f5;color:#18181b;margin:0;padding:32px 16px}main{max-width:480px;margin:0 auto;background:#fff;border-radius:8px;padding:24px}button{font:inherit;background:#18181b;color:#fff;border:0;border-radius:6px;padding:10px 18px;cursor:pointer}label{display:block;margin:8px 0}a{color:#2563eb}</style></head>
<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

export function invalidLinkPage(lang: Lang = 'en'): string {
  return page(lang, TEXT[lang].unsubTitle, `<p>${TEXT[lang].invalid}</p>`);
}

export function unsubscribeConfirmPage(lang: Lang, email: string, topicName: string | null, action: string, prefsUrl: string): string {
  const t = TEXT[lang];
  const what = topicName ?? t.allMail;
  return page(lang, t.unsubTitle, `<p>${esc(t.unsubAsk(email, what))}</p><form method="post" action="${esc(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${t.unsubButton}</button></form><p><a href="${esc(prefsUrl)}">${t.manage}</a></p>`);
}

export function unsubscribedPage(lang: Lang, email: string, topicName: string | null, prefsUrl: string): string {
  const t = TEXT[lang];
  return page(lang, t.unsubTitle, `<p>${esc(t.unsubDone(email, topicName ?? t.allMail))}</p><p><a href="${esc(prefsUrl)}">${t.manage}</a></p>`);
}

export function preferencesPage(lang: Lang, view: PreferenceView, action: string, saved: boolean): string {
  const t = TEXT[lang];
  const boxes = view.topics
    .map(({ topic, status }) => `<label><input type="checkbox" name="topic" value="${esc(topic.key)}"${status === 'subscribed' && !view.unsubscribedFromAll ? ' checked' : ''}> ${esc(topic.name)}${topic.description ? ` <small>${esc(topic.description)}</small>` : ''}</label>`)
    .join('');
  return page(
    lang,
    t.prefsTitle,
    `${saved ? `<p role="status"><b>${t.saved}</b></p>` : ''}<p>${esc(t.prefsIntro(view.contact.email ?? ''))}</p><form method="post" action="${esc(action)}">${boxes}<hr><label><input type="checkbox" name="unsubscribe_all" value="1"${view.unsubscribedFromAll ? ' checked' : ''}> ${t.unsubAll}</label><p><button type="submit">${t.save}</button></p></form>`,
  );
}
