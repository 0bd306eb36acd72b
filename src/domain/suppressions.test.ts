import { describe, expect, it } from 'vitest';
import { decideSendPermission } from './suppressions.ts';
import { consentActionFor } from './consent.ts';

describe('decideSendPermission', () => {
  const marketing = { kind: 'marketing' as const, hasTopic: true };
  const transactional = { kind: 'transactional' as const, hasTopic: false, topicStatus: null };

  it('lets marketing mail go only to a subscribed, unsuppressed address', () => {
    expect(decideSendPermission({ ...marketing, suppressions: [], topicStatus: 'subscribed' })).toEqual({ allowed: true });
    expect(decideSendPermission({ ...marketing, suppressions: [], topicStatus: 'pending' })).toEqual({ allowed: false, reason: 'not_subscribed', status: 'pending' });
    expect(decideSendPermission({ ...marketing, suppressions: [], topicStatus: 'unsubscribed' })).toEqual({ allowed: false, reason: 'not_subscribed', status: 'unsubscribed' });
    expect(decideSendPermission({ ...marketing, suppressions: [], topicStatus: null })).toEqual({ allowed: false, reason: 'not_subscribed', status: null });
    expect(decideSendPermission({ kind: 'marketing', hasTopic: false, suppressions: [], topicStatus: null })).toEqual({ allowed: false, reason: 'no_topic' });
  });

  it.each(['hard_bounce', 'soft_bounce', 'complaint', 'unsubscribe_all', 'manual', 'erased'] as const)('blocks marketing mail for %s even when subscribed', (reason) => {
    expect(decideSendPermission({ ...marketing, suppressions: [reason], topicStatus: 'subscribed' })).toEqual({ allowed: false, reason: 'suppressed', suppression: reason });
  });

  it('lets transactional mail through an unsubscribe but never a bounce, complaint, manual block or erasure', () => {
    expect(decideSendPermission({ ...transactional, suppressions: [] })).toEqual({ allowed: true });
    expect(decideSendPermission({ ...transactional, suppressions: ['unsubscribe_all'] })).toEqual({ allowed: true });
    for (const reason of ['hard_bounce', 'soft_bounce', 'complaint', 'manual', 'erased'] as const) {
      expect(decideSendPermission({ ...transactional, suppressions: ['unsubscribe_all', reason] })).toEqual({ allowed: false, reason: 'suppressed', suppression: reason });
    }
  });

  it('reports the most serious reason when several apply', () => {
    expect(decideSendPermission({ ...marketing, suppressions: ['unsubscribe_all', 'manual', 'complaint'], topicStatus: 'subscribed' })).toMatchObject({ suppression: 'complaint' });
  });
});

describe('consentActionFor', () => {
  it.each([
    [null, 'subscribed', 'subscribe'],
    [null, 'pending', 'subscribe'],
    ['pending', 'subscribed', 'confirm'],
    ['unsubscribed', 'subscribed', 'resubscribe'],
    ['subscribed', 'unsubscribed', 'unsubscribe'],
    ['pending', 'unsubscribed', 'unsubscribe'],
    ['subscribed', 'subscribed', null],
    ['unsubscribed', 'unsubscribed', null],
  ] as const)('%s → %s is %s', (prev, next, action) => {
    expect(consentActionFor(prev, next)).toBe(action);
  });
});
