import { describe, expect, it } from 'vitest';
import { missingMarketingFooter, pickVariantLocale } from './templates.ts';

describe('pickVariantLocale', () => {
  it('prefers the exact locale, then the language, then the store default, then the template default', () => {
    expect(pickVariantLocale(['en', 'fa', 'fa-AF'], 'fa-AF', 'en', 'en')).toBe('fa-AF');
    expect(pickVariantLocale(['en', 'fa'], 'fa-IR', 'en', 'en')).toBe('fa');
    expect(pickVariantLocale(['en-GB', 'fa'], 'en-US', 'fa', 'fa')).toBe('en-GB');
    expect(pickVariantLocale(['en', 'fa'], 'de', 'fa', 'en')).toBe('fa');
    expect(pickVariantLocale(['en', 'fa'], null, 'fa-IR', 'en')).toBe('fa');
    expect(pickVariantLocale(['en', 'ar'], 'de', 'fr', 'ar')).toBe('ar');
  });
});

describe('missingMarketingFooter', () => {
  const v = { subject: 's', preheader: '', fromName: 'x', fromEmail: 'x@y.z', replyTo: null, bodyType: 'mjml' as const, textBody: null };
  it('asks for the unsubscribe link and the postal address', () => {
    expect(missingMarketingFooter({ ...v, body: '<p>hi</p>' }, '')).toHaveLength(2);
    expect(missingMarketingFooter({ ...v, body: '<a href="{{ unsubscribe_url }}">x</a> {{ store.address }}' }, '')).toEqual([]);
    expect(missingMarketingFooter({ ...v, body: "<a href='{{unsubscribe_url}}'>x</a> 1 Main St" }, '1 Main St')).toEqual([]);
    // The URL printed as text is not a visible link.
    expect(missingMarketingFooter({ ...v, body: '{{ unsubscribe_url }} {{ store.address }}' }, '')).toHaveLength(1);
    expect(missingMarketingFooter({ ...v, body: '<a href="{{ unsubscribe_url }}">x</a>{{ store.address }}', textBody: 'no link here' }, '')).toEqual([
      { field: 'textBody', message: expect.stringContaining('unsubscribe link') },
    ]);
  });
});
