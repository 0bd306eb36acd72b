import { esc, page, type Lang } from './pages.ts';

// The pages of the public signup and its confirmation link, in English and Persian, in the same
// plain layout as the unsubscribe pages (no scripts). None of them says whether an address was
// already known: the signup answer is the same for every address.

const TEXT = {
  en: {
    signupTitle: 'Almost done',
    signupSent: 'Please check your inbox. If this address can receive our emails, a link to confirm your subscription is on its way; your subscription starts when you click it.',
    errorTitle: 'We could not sign you up',
    back: 'Back to the store',
    confirmTitle: 'Confirm your subscription',
    confirmAsk: (email: string, topics: string) => `Subscribe ${email} to ${topics}?`,
    confirmButton: 'Yes, subscribe me',
    confirmedTitle: 'You are subscribed',
    confirmed: (email: string, topics: string) => `Thank you. ${email} is now subscribed to ${topics}.`,
    already: (email: string, topics: string) => `${email} is already subscribed to ${topics}. There is nothing more to do.`,
    nothingPending: 'There is nothing left to confirm for this link: the subscription was changed since the email was sent.',
    invalidTitle: 'Link not valid',
    invalid: 'This confirmation link is not valid. Check that you opened the whole link from the email, or sign up again.',
    expiredTitle: 'Link expired',
    expired: 'This confirmation link has expired (links work for 7 days). Please sign up again to get a new one.',
    and: ', ',
  },
  fa: {
    signupTitle: 'یک قدم مانده',
    signupSent: 'لطفاً صندوق ایمیلتان را ببینید. اگر این نشانی بتواند ایمیل‌های ما را دریافت کند، پیوند تأیید اشتراک در راه است؛ اشتراک شما با کلیک روی آن آغاز می‌شود.',
    errorTitle: 'ثبت‌نام انجام نشد',
    back: 'بازگشت به فروشگاه',
    confirmTitle: 'تأیید اشتراک',
    confirmAsk: (email: string, topics: string) => `اشتراک ${email} در ${topics} تأیید شود؟`,
    confirmButton: 'بله، مشترک شوم',
    confirmedTitle: 'اشتراک شما فعال شد',
    confirmed: (email: string, topics: string) => `سپاس. ${email} اکنون مشترک ${topics} است.`,
    already: (email: string, topics: string) => `${email} پیش از این مشترک ${topics} شده است. کار دیگری لازم نیست.`,
    nothingPending: 'چیزی برای تأیید با این پیوند باقی نمانده است: اشتراک پس از ارسال ایمیل تغییر کرده است.',
    invalidTitle: 'پیوند نامعتبر',
    invalid: 'این پیوند تأیید معتبر نیست. مطمئن شوید پیوند کامل ایمیل را باز کرده‌اید، یا دوباره ثبت‌نام کنید.',
    expiredTitle: 'پیوند منقضی شده',
    expired: 'این پیوند تأیید منقضی شده است (پیوندها تا هفت روز کار می‌کنند). لطفاً دوباره ثبت‌نام کنید تا پیوند تازه‌ای بگیرید.',
    and: '، ',
  },
} as const;

function backLink(lang: Lang, storeUrl: string | null): string {
  return storeUrl ? `<p><a href="${esc(storeUrl)}">${TEXT[lang].back}</a></p>` : '';
}

function names(lang: Lang, topics: readonly string[]): string {
  return topics.join(TEXT[lang].and);
}

/** After a form signup (when the store set no thank-you page): the same words for every address. */
export function signupReceivedPage(lang: Lang, storeUrl: string | null): string {
  return page(lang, TEXT[lang].signupTitle, `<p>${TEXT[lang].signupSent}</p>${backLink(lang, storeUrl)}`);
}

/** A form signup that could not be accepted: what was wrong, field by field. */
export function signupErrorPage(lang: Lang, message: string, details: readonly { field: string; message: string }[], storeUrl: string | null): string {
  const items = details.length > 0 ? `<ul>${details.map((d) => `<li><b>${esc(d.field)}</b>: ${esc(d.message)}</li>`).join('')}</ul>` : `<p>${esc(message)}</p>`;
  return page(lang, TEXT[lang].errorTitle, `${items}${backLink(lang, storeUrl)}`);
}

/** The confirmation link's page: a button, so mail scanners that open links do not confirm anyone. */
export function confirmAskPage(lang: Lang, email: string, topics: readonly string[], action: string): string {
  const t = TEXT[lang];
  return page(lang, t.confirmTitle, `<p>${esc(t.confirmAsk(email, names(lang, topics)))}</p><form method="post" action="${esc(action)}"><button type="submit">${t.confirmButton}</button></form>`);
}

/** After the button: subscribed (or, on a second click, already subscribed). */
export function confirmedPage(lang: Lang, email: string, topics: readonly string[], already: boolean, storeUrl: string | null): string {
  const t = TEXT[lang];
  return page(lang, t.confirmedTitle, `<p>${esc((already ? t.already : t.confirmed)(email, names(lang, topics)))}</p>${backLink(lang, storeUrl)}`);
}

/** The link's topics were unsubscribed or deleted after the email went out. */
export function nothingPendingPage(lang: Lang, storeUrl: string | null): string {
  return page(lang, TEXT[lang].confirmTitle, `<p>${TEXT[lang].nothingPending}</p>${backLink(lang, storeUrl)}`);
}

/** A malformed or forged link, or one for a contact that no longer exists. */
export function invalidConfirmLinkPage(lang: Lang): string {
  return page(lang, TEXT[lang].invalidTitle, `<p>${TEXT[lang].invalid}</p>`);
}

/** A genuine link past its 7 days. */
export function expiredConfirmLinkPage(lang: Lang, storeUrl: string | null): string {
  return page(lang, TEXT[lang].expiredTitle, `<p>${TEXT[lang].expired}</p>${backLink(lang, storeUrl)}`);
}
