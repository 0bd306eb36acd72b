import { describe, expect, it } from 'vitest';
import { validateContactInput } from './contacts.ts';

describe('validateContactInput', () => {
  it('normalises every field', () => {
    const r = validateContactInput(
      { email: 'X@Example.com', firstName: '  Ana ', lastName: '', locale: 'en_us', timezone: 'europe/berlin', currency: 'eur', phone: '+49 30 1234-5678', externalIds: { shopify: ' 77 ' }, attributes: { a: 1 } },
      { requireEmail: true },
    );
    expect(r).toEqual({
      ok: true,
      value: {
        email: 'X@example.com',
        emailKey: 'x@example.com',
        emailDomain: 'example.com',
        firstName: 'Ana',
        lastName: null,
        locale: 'en-US',
        timezone: 'Europe/Berlin',
        currency: 'EUR',
        phone: '+493012345678',
        externalIds: { shopify: '77' },
        attributes: { a: 1 },
      },
    });
  });

  it('accepts the toman (IRT) though ISO 4217 has only the rial', () => {
    expect(validateContactInput({ currency: 'IRT' }, { requireEmail: false })).toMatchObject({ ok: true, value: { currency: 'IRT' } });
    expect(validateContactInput({ currency: 'IRR' }, { requireEmail: false })).toMatchObject({ ok: true, value: { currency: 'IRR' } });
  });

  it('names every bad field with the prefix', () => {
    const r = validateContactInput(
      { email: 'nope', locale: 'not a locale!', timezone: 'Nowhere/City', currency: 'XYZ1', phone: 'abc', firstName: 'a\u0000b', externalIds: { 'Bad Source': '1' }, attributes: { 'bad name': 1 } },
      { requireEmail: true, prefix: 'contacts/2/' },
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.field).sort()).toEqual(
        ['attributes/bad name', 'currency', 'email', 'externalIds/Bad Source', 'firstName', 'locale', 'phone', 'timezone'].map((f) => `contacts/2/${f}`).sort(),
      );
    }
  });

  it('requires an email only when asked', () => {
    expect(validateContactInput({}, { requireEmail: true })).toEqual({ ok: false, errors: [{ field: 'email', message: 'is required' }] });
    expect(validateContactInput({}, { requireEmail: false })).toEqual({ ok: true, value: {} });
  });

  it('limits the size of custom attributes', () => {
    const r = validateContactInput({ attributes: { big: 'x'.repeat(20_000) } }, { requireEmail: false });
    expect(r).toMatchObject({ ok: false, errors: [{ field: 'attributes' }] });
  });

  it('keeps null as "clear this field"', () => {
    expect(validateContactInput({ locale: null, phone: null }, { requireEmail: false })).toEqual({ ok: true, value: { locale: null, phone: null } });
  });
});
