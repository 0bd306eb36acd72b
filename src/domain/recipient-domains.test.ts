import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_LIMITS, domainGroup, domainGroupOfMx, parseGroupLimits } from './recipient-domains.ts';

describe('domainGroup', () => {
  it.each([
    ['alice@gmail.com', 'gmail'],
    ['Alice@GoogleMail.COM', 'gmail'],
    ['gmail.com.', 'gmail'],
    ['bob@yahoo.com', 'yahoo'],
    ['bob@yahoo.co.uk', 'yahoo'],
    ['bob@yahoo.fr', 'yahoo'],
    ['bob@yahoo.com.br', 'yahoo'],
    ['bob@ymail.com', 'yahoo'],
    ['bob@rocketmail.com', 'yahoo'],
    ['bob@aol.com', 'yahoo'],
    ['bob@aol.co.uk', 'yahoo'],
    ['carol@outlook.com', 'microsoft'],
    ['carol@outlook.de', 'microsoft'],
    ['carol@hotmail.co.uk', 'microsoft'],
    ['carol@hotmail.fr', 'microsoft'],
    ['carol@live.com', 'microsoft'],
    ['carol@live.com.mx', 'microsoft'],
    ['carol@msn.com', 'microsoft'],
    ['dave@example.com', 'others'],
    ['dave@gmail.example.com', 'others'],
    ['dave@live.example.com', 'others'],
    ['dave@mail.yahoo.com', 'others'],
    ['dave@notgmail.com', 'others'],
    ['dave@yahoo.co.jp', 'others'],
    ['', 'others'],
    ['@', 'others'],
  ])('%s → %s', (input, group) => {
    expect(domainGroup(input)).toBe(group);
  });
});

describe('domainGroupOfMx', () => {
  it.each([
    ['aspmx.l.google.com', 'gmail'],
    ['ALT1.ASPMX.L.GOOGLE.COM.', 'gmail'],
    ['mta7.am0.yahoodns.net', 'yahoo'],
    ['shop-com.mail.protection.outlook.com', 'microsoft'],
    ['hotmail-com.olc.protection.outlook.com', 'microsoft'],
    ['mx.example.com', 'others'],
    ['google.com.evil.example', 'others'],
  ])('%s → %s', (mx, group) => {
    expect(domainGroupOfMx(mx)).toBe(group);
  });
});

describe('parseGroupLimits', () => {
  it('fills what is not given from the defaults', () => {
    const limits = parseGroupLimits({ yahoo: { perSecond: 2.5 }, others: { messagesPerConnection: null } });
    expect(limits.yahoo).toEqual({ ...DEFAULT_GROUP_LIMITS.yahoo, perSecond: 2.5 });
    expect(limits.others.messagesPerConnection).toBeNull();
    expect(limits.gmail).toEqual(DEFAULT_GROUP_LIMITS.gmail);
    expect(parseGroupLimits(undefined)).toEqual(DEFAULT_GROUP_LIMITS);
  });

  it('names every bad field in one error', () => {
    let err: unknown;
    try {
      parseGroupLimits({ gmial: {}, gmail: { concurrency: 0, perSecond: 'fast', speed: 1 }, yahoo: 3 });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'validation_failed' });
    expect((err as { details: { field: string }[] }).details.map((d) => d.field)).toEqual([
      'domainLimits/gmial',
      'domainLimits/gmail/concurrency',
      'domainLimits/gmail/perSecond',
      'domainLimits/gmail/speed',
      'domainLimits/yahoo',
    ]);
    expect(() => parseGroupLimits([1])).toThrow(/domainLimits must be an object/);
  });

  it('does not change the defaults', () => {
    parseGroupLimits({ gmail: { perSecond: 1 } }).gmail.concurrency = 99;
    expect(DEFAULT_GROUP_LIMITS.gmail).toEqual({ concurrency: 10, perSecond: 20, burst: 20, messagesPerConnection: 100 });
  });
});
