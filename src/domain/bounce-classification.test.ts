import { describe, expect, it } from 'vitest';
import { classifyBounce, classOf } from './bounce-classification.ts';

const verdict = (status: string | null, diagnostic: string | null, action: string | null = 'failed', smtpCode: number | null = null) => {
  const v = classifyBounce({ status, diagnostic, action, smtpCode });
  return `${v.reason}/${v.class}`;
};

describe('bounce classification', () => {
  it('decides on a specific enhanced status first (RFC 3463)', () => {
    expect(verdict('5.1.1', 'whatever the server says')).toBe('user_unknown/hard');
    expect(verdict('5.1.2', null)).toBe('host_unknown/hard');
    expect(verdict('5.4.4', 'Host or domain name not found')).toBe('host_unknown/hard');
    expect(verdict('5.2.2', 'Mailbox full')).toBe('mailbox_full/soft');
    expect(verdict('5.3.4', 'Message size exceeds fixed limit')).toBe('message_too_large/soft');
    expect(verdict('5.7.26', 'unauthenticated')).toBe('reputation/none');
    expect(verdict('5.1.8', 'Sender address rejected: Domain not found')).toBe('policy_block/none');
  });

  it('reads the words when the status is generic', () => {
    expect(verdict('5.0.0', "554 delivery error: dd This user doesn't have a yahoo.example account")).toBe('user_unknown/hard');
    expect(verdict('5.5.0', '550 5.5.0 Requested action not taken: mailbox unavailable')).toBe('user_unknown/hard');
    expect(verdict('5.0.0', 'Unrouteable address')).toBe('host_unknown/hard');
    expect(verdict('5.0.0', 'Over quota')).toBe('mailbox_full/soft');
    expect(verdict('5.0.0', 'retry timeout exceeded')).toBe('expired/soft');
    expect(verdict(null, 'Sorry, no mailbox here by that name.')).toBe('user_unknown/hard');
    expect(verdict(null, 'This message is too large for this system')).toBe('message_too_large/soft');
  });

  it('takes the status from the text when the DSN gives only x.0.0 (Exim, Yahoo)', () => {
    expect(classifyBounce({ status: '5.0.0', diagnostic: '552 5.2.2 Mailbox quota exceeded', action: 'failed' })).toMatchObject({ status: '5.2.2', reason: 'mailbox_full' });
    expect(classifyBounce({ status: null, diagnostic: 'Sorry, I couldn\'t find any host named x.example. (#5.1.2)' })).toMatchObject({ status: '5.1.2', reason: 'host_unknown', class: 'hard' });
    expect(classifyBounce({ status: null, diagnostic: '<mail.litware.example #5.1.1>' })).toMatchObject({ status: '5.1.1', class: 'hard' });
    // A different class in the text does not override the DSN's own.
    expect(classifyBounce({ status: '5.0.0', diagnostic: 'earlier: 451 4.7.1 try later', action: 'failed' }).status).toBe('5.0.0');
  });

  it('keeps 5.7.x a policy or reputation matter, never a gone address (as classifyRefusal does)', () => {
    expect(verdict('5.7.1', 'Client host [203.0.113.9] blocked using zen.spamhaus.org')).toBe('reputation/none');
    expect(verdict('5.7.1', 'Email rejected per DMARC policy')).toBe('reputation/none');
    expect(verdict('5.7.1', 'is on our block list (S3150)')).toBe('reputation/none');
    expect(verdict('5.7.1', 'this message is likely unsolicited mail')).toBe('policy_block/none');
    expect(verdict('5.7.1', 'Recipient address rejected: User unknown')).toBe('policy_block/none');
    expect(verdict('5.7.1', 'Relay access denied')).toBe('policy_block/none');
    expect(verdict('5.7.1', null)).toBe('policy_block/none');
    expect(verdict('5.7.606', 'Access denied, banned sending IP [203.0.113.9]')).toBe('reputation/none');
  });

  it('makes a temporary failure soft, and a failed 4.x.x an expiry', () => {
    expect(verdict('4.1.1', '450 4.1.1 user unknown (try again)', 'delayed')).toBe('user_unknown/soft');
    expect(verdict('4.2.2', 'over quota', 'delayed')).toBe('mailbox_full/soft');
    expect(verdict('4.2.1', 'receiving mail at a rate that prevents additional messages', 'delayed')).toBe('rate_limited/soft');
    expect(verdict('4.7.0', '[TSS04] Messages from 203.0.113.9 temporarily deferred', 'delayed')).toBe('rate_limited/soft');
    expect(verdict('4.7.1', 'Greylisting in action, please come back later', 'delayed')).toBe('other/soft');
    expect(verdict('4.4.1', 'connect to mx.slow.example: Connection timed out', 'failed')).toBe('expired/soft');
    expect(verdict('4.4.7', 'Message delayed', 'delayed')).toBe('other/soft');
    expect(verdict('4.4.3', 'Host or domain name not found', 'failed')).toBe('host_unknown/soft');
  });

  it('falls back to the basic reply code, consistent with classifyRefusal', () => {
    expect(verdict(null, null, 'failed', 550)).toBe('user_unknown/hard');
    expect(verdict(null, null, 'failed', 552)).toBe('mailbox_full/soft');
    expect(verdict(null, null, 'failed', 554)).toBe('policy_block/none');
    expect(verdict(null, '550 Requested action not taken', 'failed')).toBe('user_unknown/hard');
    expect(verdict(null, null, 'failed')).toBe('other/soft');
    expect(verdict(null, null, 'delayed')).toBe('other/soft');
    expect(verdict(null, null, null)).toBe('other/soft');
  });

  it('cleans the diagnostic and keeps it', () => {
    expect(classifyBounce({ status: '5.1.1', diagnostic: '  550 5.1.1\n    <a@b.example>: User unknown ' }).diagnostic).toBe('550 5.1.1 <a@b.example>: User unknown');
    expect(classifyBounce({ status: 'junk', diagnostic: '   ' })).toEqual({ reason: 'other', class: 'soft', status: null, diagnostic: null });
  });

  it('classes reasons: only a gone address is hard, and only when permanent', () => {
    expect(classOf('user_unknown', false)).toBe('hard');
    expect(classOf('host_unknown', true)).toBe('soft');
    expect(classOf('auto_reply', false)).toBe('none');
    expect(classOf('reputation', false)).toBe('none');
    expect(classOf('expired', false)).toBe('soft');
  });
});
