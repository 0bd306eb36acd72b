import { describe, expect, it } from 'vitest';
import { mapWooStatus, parseUnixSeconds, parseWooGmtDate, parseWooMoney, textOrNull, wooIdOrNull } from './woocommerce-values.ts';

describe('WooCommerce database values', () => {
  it('maps stored statuses (with the wc- prefix) as the webhooks do, leaving out auto-drafts', () => {
    expect(mapWooStatus('wc-processing', true)).toEqual({ kind: 'order', status: 'processing' });
    expect(mapWooStatus('wc-on-hold', false)).toEqual({ kind: 'order', status: 'on_hold' });
    expect(mapWooStatus('wc-checkout-draft', false)).toEqual({ kind: 'order', status: 'draft' });
    expect(mapWooStatus('trash', true)).toEqual({ kind: 'order', status: 'cancelled' });
    expect(mapWooStatus('wc-shipped', true)).toEqual({ kind: 'order', status: 'processing' });
    expect(mapWooStatus('wc-awaiting-payment', false)).toEqual({ kind: 'order', status: 'pending' });
    expect(mapWooStatus('auto-draft', false)).toMatchObject({ kind: 'skip' });
    expect(mapWooStatus(null, false)).toMatchObject({ kind: 'skip' });
  });

  it('reads DECIMAL(26,8) and postmeta money, and refuses anything else', () => {
    expect(parseWooMoney('37.50000000')).toBe(37.5);
    expect(parseWooMoney('-10.00')).toBe(-10);
    expect(parseWooMoney(' 42 ')).toBe(42);
    for (const bad of ['', '12,50', '1e3', 'NaN', null, undefined, {}]) expect(parseWooMoney(bad)).toBeUndefined();
  });

  it('reads UTC DATETIMEs and REST *_gmt values; the zero date, offsets and impossible dates are null', () => {
    expect(parseWooGmtDate('2025-03-20 20:00:00')).toBe(Date.UTC(2025, 2, 20, 20));
    expect(parseWooGmtDate('2025-03-20T20:00:00')).toBe(Date.UTC(2025, 2, 20, 20));
    for (const bad of ['0000-00-00 00:00:00', '', '2025-02-30 10:00:00', '2025-03-20 24:00:00', '2025-03-20T20:00:00+03:30', 'yesterday', null, 17]) {
      expect(parseWooGmtDate(bad)).toBeNull();
    }
  });

  it('reads unix-second postmeta dates, ids and text', () => {
    expect(parseUnixSeconds('1742500800')).toBe(1_742_500_800_000);
    expect(parseUnixSeconds('0')).toBeNull();
    expect(parseUnixSeconds('2025-03-20')).toBeNull();
    expect(wooIdOrNull('0')).toBeNull();
    expect(wooIdOrNull('00123')).toBe('123');
    expect(wooIdOrNull('12a')).toBeNull();
    expect(textOrNull('  ')).toBeNull();
    expect(textOrNull(' مریم ')).toBe('مریم');
  });
});
