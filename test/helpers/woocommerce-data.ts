// Realistic WooCommerce REST v3 objects for tests (fields as in formats.md 1.6: money as strings,
// dates without offset, `*_gmt` in UTC; Persian and Latin names; guests with customer_id 0).

/** Names from a Persian shop's customers, with some Latin ones. */
export const SHOPPERS = [
  { first: 'مریم', last: 'احمدی', email: 'maryam.ahmadi@example.ir', city: 'تهران', country: 'IR' },
  { first: 'علی', last: 'رضایی', email: 'ali.rezaei@example.ir', city: 'اصفهان', country: 'IR' },
  { first: 'زهرا', last: 'کریمی', email: 'zahra.karimi@example.com', city: 'شیراز', country: 'IR' },
  { first: 'Jane', last: 'Doe', email: 'jane@example.com', city: 'Berlin', country: 'DE' },
  { first: 'حسین', last: 'موسوی', email: 'hossein@example.org', city: 'تبریز', country: 'IR' },
];

const BASE = Date.UTC(2025, 0, 1, 8, 0, 0);

/** `YYYY-MM-DDTHH:MM:SS` in UTC, no offset, as REST `*_gmt` fields. */
export function restGmt(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** The same moment in Tehran time (+03:30), as the site-time fields without offset. */
export function restLocal(ms: number): string {
  return new Date(ms + 3.5 * 3600_000).toISOString().slice(0, 19);
}

/** A REST order: id `id`, placed `id` hours after 2025-01-01 08:00 UTC; every 3rd a guest; two line items and a coupon on even ids. */
export function restOrder(id: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  const s = SHOPPERS[id % SHOPPERS.length]!;
  const guest = id % 3 === 0;
  const created = BASE + id * 3600_000;
  const paid = created + 600_000;
  const items = [
    { id: id * 10 + 1, name: 'کتاب شعر حافظ', product_id: 11, variation_id: 0, quantity: 2, tax_class: '', subtotal: '30.00', subtotal_tax: '0.00', total: '30.00', total_tax: '0.00', taxes: [], meta_data: [], sku: 'BOOK-HAFEZ', price: 15 },
    ...(id % 2 === 0 ? [{ id: id * 10 + 2, name: 'Tea set', product_id: 12, variation_id: 0, quantity: 1, tax_class: '', subtotal: '12.50', subtotal_tax: '0.00', total: '12.50', total_tax: '0.00', taxes: [], meta_data: [], sku: 'TEA-1', price: 12.5 }] : []),
  ];
  const total = id % 2 === 0 ? '37.50' : '30.00';
  return {
    id,
    parent_id: 0,
    number: String(id),
    order_key: `wc_order_${id.toString(36).padStart(13, 'x')}`,
    created_via: 'checkout',
    version: '9.4.2',
    status: 'completed',
    currency: 'USD',
    date_created: restLocal(created),
    date_created_gmt: restGmt(created),
    date_modified: restLocal(created + 86_400_000),
    date_modified_gmt: restGmt(created + 86_400_000),
    discount_total: id % 2 === 0 ? '5.00' : '0.00',
    discount_tax: '0.00',
    shipping_total: '0.00',
    shipping_tax: '0.00',
    cart_tax: '0.00',
    total,
    total_tax: '0.00',
    prices_include_tax: false,
    customer_id: guest ? 0 : 100 + (id % SHOPPERS.length),
    customer_ip_address: '203.0.113.7',
    customer_user_agent: 'Mozilla/5.0',
    customer_note: '',
    billing: { first_name: s.first, last_name: s.last, company: '', address_1: 'خیابان ولیعصر', address_2: '', city: s.city, state: '', postcode: '1234567890', country: s.country, email: s.email, phone: '+989121234567' },
    shipping: { first_name: s.first, last_name: s.last, company: '', address_1: 'خیابان ولیعصر', address_2: '', city: s.city, state: '', postcode: '1234567890', country: s.country, phone: '' },
    payment_method: 'bacs',
    payment_method_title: 'Direct bank transfer',
    transaction_id: '',
    date_paid: restLocal(paid),
    date_paid_gmt: restGmt(paid),
    date_completed: restLocal(paid + 3600_000),
    date_completed_gmt: restGmt(paid + 3600_000),
    cart_hash: 'e1b2',
    meta_data: [],
    line_items: items,
    tax_lines: [],
    shipping_lines: [],
    fee_lines: [],
    coupon_lines: id % 2 === 0 ? [{ id: id * 10 + 9, code: 'yalda', discount: '5.00', discount_tax: '0.00', meta_data: [] }] : [],
    refunds: [],
    ...over,
  };
}

/** A REST customer for shopper `i` with WordPress user id 100 + i. */
export function restCustomer(i: number): Record<string, unknown> {
  const s = SHOPPERS[i % SHOPPERS.length]!;
  return {
    id: 100 + i,
    date_created: restLocal(BASE),
    date_created_gmt: restGmt(BASE),
    date_modified: restLocal(BASE),
    date_modified_gmt: restGmt(BASE),
    email: s.email,
    first_name: s.first,
    last_name: s.last,
    role: 'customer',
    username: s.email.split('@')[0],
    billing: { first_name: s.first, last_name: s.last, company: '', address_1: '', address_2: '', city: s.city, state: '', postcode: '', country: s.country, email: s.email, phone: '+989121234567' },
    shipping: { first_name: s.first, last_name: s.last, company: '', address_1: '', address_2: '', city: s.city, state: '', postcode: '', country: s.country, phone: '' },
    is_paying_customer: true,
    avatar_url: 'https://secure.gravatar.com/avatar/x',
    meta_data: [],
  };
}

/** The two products the orders above name. */
export function restProducts(): Record<string, unknown>[] {
  const p = (id: number, name: string, sku: string, price: string, cat: string) => ({
    id, name, slug: sku.toLowerCase(), permalink: `https://shop.example/product/${sku.toLowerCase()}/`, date_created_gmt: restGmt(BASE), date_modified_gmt: restGmt(BASE),
    type: 'simple', status: 'publish', sku, price, regular_price: price, sale_price: '', stock_status: 'instock',
    categories: [{ id: 1, name: cat, slug: 'c' }], images: [{ id: 5, src: `https://shop.example/wp-content/uploads/${sku}.jpg` }],
  });
  return [p(11, 'کتاب شعر حافظ', 'BOOK-HAFEZ', '15.00', 'کتاب'), p(12, 'Tea set', 'TEA-1', '12.50', 'Kitchen')];
}
