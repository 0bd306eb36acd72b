import { describe, expect, it } from 'vitest';
import { checkRouteRules, routeFor, type RouteRule } from './transports.ts';

const transports = [
  { name: 'postfix', kind: 'smtp' as const, enabled: true },
  { name: 'ses', kind: 'ses' as const, enabled: true },
  { name: 'mailgun', kind: 'mailgun' as const, enabled: false },
];
const tx = { stream: 'transactional' as const, senderDomain: 'shop.example', recipientDomain: 'gmail.com' };
const mk = { ...tx, stream: 'marketing' as const };

describe('routing', () => {
  it('defaults to the own MTA for transactional mail and an ESP for marketing, with the rest as failover', () => {
    expect(routeFor(tx, [], transports)).toEqual(['postfix', 'ses']);
    expect(routeFor(mk, [], transports)).toEqual(['ses', 'postfix']);
  });
  it('falls back to capture when nothing is configured', () => {
    expect(routeFor(mk, [], [])).toEqual(['capture']);
  });
  it('takes the first matching rule, skipping disabled transports', () => {
    const rules: RouteRule[] = [
      { stream: null, senderDomain: null, recipientDomain: 'outlook.com', transports: ['mailgun', 'postfix'] },
      { stream: 'marketing', senderDomain: 'news.shop.example', recipientDomain: null, transports: ['postfix'] },
      { stream: 'marketing', senderDomain: null, recipientDomain: null, transports: ['mailgun'] },
    ];
    expect(routeFor({ ...mk, recipientDomain: 'outlook.com' }, rules, transports)).toEqual(['postfix']);
    expect(routeFor({ ...mk, senderDomain: 'news.shop.example' }, rules, transports)).toEqual(['postfix']);
    // The only transport of the third rule is disabled: the default applies.
    expect(routeFor(mk, rules, transports)).toEqual(['ses', 'postfix']);
  });
  it('names every problem in a rule list', () => {
    const errors = checkRouteRules(
      [{ stream: null, senderDomain: 'Bad Domain', recipientDomain: null, transports: ['nope'] }, { stream: null, senderDomain: null, recipientDomain: null, transports: [] }],
      new Set(['postfix']),
    );
    expect(errors.map((e) => e.field)).toEqual(['/0/senderDomain', '/0/transports/0', '/1/transports']);
  });
});
