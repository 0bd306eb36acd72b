import type { Contact } from '../domain/contacts.ts';

// Realistic stand-in data for previews and test sends, in the reader's language, so a preview
// shows every block of a template filled in (orders, carts, coupons, products).

const HOUR = 3_600_000;

/** A sample contact for a locale (used when a preview names no real contact). */
export function sampleContact(locale: string, now: number): Contact {
  const fa = locale.startsWith('fa');
  return {
    id: 0,
    email: fa ? 'sara.ahmadi@example.com' : 'jane.doe@example.com',
    firstName: fa ? 'سارا' : 'Jane',
    lastName: fa ? 'احمدی' : 'Doe',
    locale,
    timezone: fa ? 'Asia/Tehran' : 'America/New_York',
    currency: fa ? 'IRT' : 'USD',
    phone: null,
    externalIds: {},
    attributes: { city: fa ? 'شیراز' : 'Portland' },
    createdAt: now - 90 * 24 * HOUR,
    updatedAt: now,
  };
}

/** Sample order, cart, product and coupon data in the contact's currency and language. */
export function sampleContext(locale: string, currency: string, now: number, storeUrl: string): Record<string, unknown> {
  const fa = locale.startsWith('fa');
  const price = (usd: number) => (currency === 'IRT' ? usd * 60_000 : currency === 'IRR' ? usd * 600_000 : usd);
  const items = [
    { name: fa ? 'کفش دویدن سبک' : 'Lightweight running shoes', quantity: 1, price: price(89), image_url: `${storeUrl}/images/shoes.jpg`, url: `${storeUrl}/p/running-shoes`, categories: ['shoes'] },
    { name: fa ? 'جوراب ورزشی (بسته ۳ تایی)' : 'Sports socks (3 pack)', quantity: 2, price: price(12), image_url: `${storeUrl}/images/socks.jpg`, url: `${storeUrl}/p/socks`, categories: ['accessories'] },
  ];
  const subtotal = items.reduce((s, i) => s + i.price * i.quantity, 0);
  return {
    order: {
      number: '10482',
      total: subtotal - price(10),
      subtotal,
      discount: price(10),
      currency,
      created_at: now - 2 * HOUR,
      status_url: `${storeUrl}/account/orders/10482`,
      categories: ['shoes', 'accessories'],
      items,
      shipping: { carrier: fa ? 'پست پیشتاز' : 'UPS', tracking_number: '1Z999AA10123456784', tracking_url: `${storeUrl}/track/1Z999AA10123456784` },
    },
    cart: { value: subtotal, currency, item_count: 3, recovery_url: `${storeUrl}/cart/recover/abc123`, items },
    product: { name: fa ? 'کوله‌پشتی کوهنوردی' : 'Trail backpack', url: `${storeUrl}/p/trail-backpack`, image_url: `${storeUrl}/images/backpack.jpg`, price: price(65) },
    last_purchased_product: { name: items[0]!.name, url: items[0]!.url, image_url: items[0]!.image_url },
    coupon: { code: 'WELCOME10', expires_at: now + 7 * 24 * HOUR },
  };
}
