// The starter template library: twelve emails a store can send as they are, in English and
// Persian. Bodies are MJML files beside this one (`<key>.<locale>.mjml`); subjects and preheaders
// live here because they are short Liquid strings that a store edits alongside the body.
import { readFileSync } from 'node:fs';
import { AppError } from '../../lib/errors.ts';

/** The locales every starter is written in. */
export const STARTER_LOCALES = ['en', 'fa'] as const;
export type StarterLocale = (typeof STARTER_LOCALES)[number];

/** The subject and inbox preview line of one locale variant; both may hold Liquid. */
export interface StarterVariant {
  subject: string;
  preheader: string;
}

/** One starter template: what it is for, how it is sent, and its text per locale. */
export interface StarterTemplate {
  key: string;
  /** The name the store sees in the template list (English). */
  name: string;
  /** What the template is for, shown under its name. */
  description: string;
  kind: 'marketing' | 'transactional';
  /** The subscription topic a marketing template is sent under; null for transactional mail. */
  topic: string | null;
  /** False: installed with open and click tracking off (mail sent before anyone agreed to be tracked). */
  tracking?: boolean;
  locales: Record<StarterLocale, StarterVariant>;
}

/**
 * Every starter. Marketing ones are sent under the `newsletter` topic: cart reminders and review
 * requests are promotional in law (CAN-SPAM, CASL), so they carry the postal address and an
 * unsubscribe link like any other marketing mail, and a store can move them to its own topics.
 */
export const STARTER_TEMPLATES: StarterTemplate[] = [
  {
    key: 'welcome-1',
    name: 'Welcome 1: first-order code',
    description: 'Sent right after someone subscribes; greets them and gives a discount code (coupon.code) for the first order.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'Welcome to {{ store.name }}{% if contact.first_name %}, {{ contact.first_name }}{% endif %}',
        preheader: 'Thanks for joining us. Your code for a first order is inside.',
      },
      fa: {
        subject: '{% if contact.first_name %}{{ contact.first_name }}، {% endif %}به {{ store.name }} خوش آمدید',
        preheader: 'از همراهی\u200cتان خوشحالیم. کد تخفیف اولین خریدتان در این ایمیل است.',
      },
    },
  },
  {
    key: 'welcome-2',
    name: 'Welcome 2: how shopping with us works',
    description: 'A few days after welcome 1; explains order updates, where to get help and how to choose which emails to get.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'How shopping at {{ store.name }} works',
        preheader: 'Order updates, help from real people, and emails on your terms.',
      },
      fa: {
        subject: 'راهنمای خرید از {{ store.name }}',
        preheader: 'پیگیری سفارش، پاسخ به سؤال\u200cها و انتخاب ایمیل\u200cهایی که می\u200cخواهید.',
      },
    },
  },
  {
    key: 'welcome-3',
    name: 'Welcome 3: customer favorites',
    description: 'About a week after welcome 1; shows a popular product (product.*) to help a new subscriber start.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'Our customers’ favorites at {{ store.name }}',
        preheader: 'Not sure where to start? Here’s a piece people come back for.',
      },
      fa: {
        subject: 'محبوب\u200cترین\u200cهای {{ store.name }}',
        preheader: 'نمی\u200cدانید از کجا شروع کنید؟ این کالا انتخاب همیشگی مشتریان ماست.',
      },
    },
  },
  {
    key: 'abandoned-cart-1',
    name: 'Abandoned cart 1: reminder',
    description: 'About an hour after a cart is left; lists the cart and links back to it (cart.recovery_url).',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'You left something in your cart',
        preheader: 'Your cart at {{ store.name }} is saved for whenever you’re ready.',
      },
      fa: {
        subject: 'سبد خریدتان منتظر شماست',
        preheader: 'کالاهایی که انتخاب کرده بودید در سبد خریدتان در {{ store.name }} ذخیره شده\u200cاند.',
      },
    },
  },
  {
    key: 'abandoned-cart-2',
    name: 'Abandoned cart 2: answers to common questions',
    description: 'About a day after a cart is left; answers delivery, returns and sizing questions.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'Still thinking it over{% if contact.first_name %}, {{ contact.first_name }}{% endif %}?',
        preheader: 'Questions about delivery, returns or sizing? We’re happy to help.',
      },
      fa: {
        subject: 'هنوز برای خرید مردد هستید؟',
        preheader: 'اگر درباره\u200cی ارسال، مرجوعی یا سایز سؤالی دارید، خوشحال می\u200cشویم کمک کنیم.',
      },
    },
  },
  {
    key: 'abandoned-cart-3',
    name: 'Abandoned cart 3: discount code',
    description: 'About three days after a cart is left; the last reminder, with a discount code (coupon.code).',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'A little something for the items in your cart',
        preheader: 'Use code {{ coupon.code }} at checkout. This is our last reminder.',
      },
      fa: {
        subject: 'یک تخفیف کوچک برای سبد خریدتان',
        preheader: 'با کد {{ coupon.code }} خریدتان را با تخفیف نهایی کنید.',
      },
    },
  },
  {
    key: 'order-confirmation',
    name: 'Order confirmation',
    description: 'Sent when an order is placed; the receipt with items, totals and a link to the order page.',
    kind: 'transactional',
    topic: null,
    locales: {
      en: {
        subject: 'Order {{ order.number }} confirmed',
        preheader: 'Thank you for your order. Here is your receipt.',
      },
      fa: {
        subject: 'سفارش {{ order.number }} ثبت شد',
        preheader: 'از خریدتان ممنونیم. جزئیات سفارش در این ایمیل است.',
      },
    },
  },
  {
    key: 'shipping-notice',
    name: 'Shipping notice',
    description: 'Sent when an order ships; carrier, tracking number and a tracking link.',
    kind: 'transactional',
    topic: null,
    locales: {
      en: {
        subject: 'Order {{ order.number }} is on its way',
        preheader: '{% if order.shipping.carrier %}It’s traveling with {{ order.shipping.carrier }}. {% endif %}Track your parcel in one click.',
      },
      fa: {
        subject: 'سفارش {{ order.number }} ارسال شد',
        preheader: '{% if order.shipping.carrier %}بسته\u200cتان با {{ order.shipping.carrier }} در راه است. {% endif %}مرسوله را با یک کلیک پیگیری کنید.',
      },
    },
  },
  {
    key: 'signup-confirmation',
    name: 'Signup confirmation (double opt-in)',
    description: 'Sent by the public signup form; the button (signup.url) confirms the subscription. No tracking: nobody has agreed to it yet.',
    kind: 'transactional',
    topic: null,
    tracking: false,
    locales: {
      en: {
        subject: 'Please confirm your subscription to {{ store.name }}',
        preheader: 'One click and you’re on the list. We only email you once you confirm.',
      },
      fa: {
        subject: 'اشتراکتان در {{ store.name }} را تأیید کنید',
        preheader: 'با یک کلیک عضویتتان کامل می\u200cشود. تا تأیید نکنید خبرنامه\u200cای برایتان نمی\u200cفرستیم.',
      },
    },
  },
  {
    key: 'feedback-request',
    name: 'Feedback request',
    description: 'About seven days after delivery; asks for a product review, with tips that depend on the order’s categories.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'How is your order from {{ store.name }}?',
        preheader: 'A short review helps other shoppers choose and helps us do better.',
      },
      fa: {
        subject: 'از خریدتان در {{ store.name }} راضی هستید؟',
        preheader: 'یک نظر کوتاه به خریداران دیگر و به ما کمک می\u200cکند.',
      },
    },
  },
  {
    key: 'win-back',
    name: 'Win-back',
    description: 'For customers who have not ordered in a long time; what is new, and a code if coupon.code is given.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'It’s been a while{% if contact.first_name %}, {{ contact.first_name }}{% endif %}',
        preheader: 'Here’s what’s new at {{ store.name }} since your last visit.',
      },
      fa: {
        subject: '{% if contact.first_name %}{{ contact.first_name }}، {% endif %}مدتی است از شما بی\u200cخبریم',
        preheader: 'ببینید از آخرین سرزدنتان چه چیزهای تازه\u200cای به {{ store.name }} آمده است.',
      },
    },
  },
  {
    key: 'newsletter',
    name: 'Newsletter',
    description: 'A general newsletter layout: an introduction, a featured product and a note from the team.',
    kind: 'marketing',
    topic: 'newsletter',
    locales: {
      en: {
        subject: 'What’s new at {{ store.name }}',
        preheader: 'New arrivals, a customer favourite and a note from our team.',
      },
      fa: {
        subject: 'تازه\u200cهای {{ store.name }}',
        preheader: 'کالاهای جدید، یکی از محبوب\u200cترین انتخاب\u200cهای مشتریان و حرفی از طرف ما.',
      },
    },
  },
];

/** Finds a starter by key, or undefined. */
export function findStarterTemplate(key: string): StarterTemplate | undefined {
  return STARTER_TEMPLATES.find((t) => t.key === key);
}

/** Reads a starter's MJML body for a locale. Throws for an unknown key, so a typo cannot read another file. */
export function loadStarterBody(key: string, locale: StarterLocale): string {
  if (!findStarterTemplate(key) || !(STARTER_LOCALES as readonly string[]).includes(locale)) {
    throw new AppError('not_found', `no starter template ${key} in locale ${locale}: use one of ${STARTER_TEMPLATES.map((t) => t.key).join(', ')} with ${STARTER_LOCALES.join(' or ')}`);
  }
  return readFileSync(new URL(`./${key}.${locale}.mjml`, import.meta.url), 'utf8');
}
