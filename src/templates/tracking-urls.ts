import { randomBytes } from 'node:crypto';
import type { Keyring } from '../lib/secrets.ts';
import { LinkSigner } from './link-signer.ts';

/** Who an unsubscribe or preference link is for. `topicKey` null = every topic (unsubscribe all). */
export interface LinkSubject {
  contactId: number;
  topicKey: string | null;
  messageRef: string;
}

const REF = /^[a-z0-9]{8,40}$/;
const TOPIC = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A new message reference: lower-case, time-ordered, unguessable; safe in URLs, Message-IDs and VERP addresses. */
export function newMessageRef(now: number): string {
  return `${now.toString(36)}${randomBytes(8).toString('hex')}`;
}

/**
 * Builds and checks every URL Chapar puts in an email. Each is signed with its own key, so a
 * click link cannot be turned into an open redirect, and an unsubscribe token for one contact
 * cannot be edited into another's.
 */
export class TrackingUrls {
  private readonly clickKey: LinkSigner;
  private readonly messageKey: LinkSigner;
  private readonly subscriberKey: LinkSigner;
  private readonly verpKey: LinkSigner;

  constructor(
    private readonly publicUrl: string,
    keyring: Keyring,
  ) {
    this.clickKey = new LinkSigner(keyring.key('link:click'));
    this.messageKey = new LinkSigner(keyring.key('link:message'));
    this.subscriberKey = new LinkSigner(keyring.key('link:subscriber'));
    this.verpKey = new LinkSigner(keyring.key('verp'));
  }

  /** `/c/<contact>/<ref>/<url as base64url>/<sig>`: the contact and message ride along, signed with the URL. */
  click(ref: string, contactId: number, url: string): string {
    const u = Buffer.from(url).toString('base64url');
    return `${this.publicUrl}/c/${contactId}/${ref}/${u}/${this.clickKey.sign([String(contactId), ref, url])}`;
  }

  /** The destination of a click link, or null if the link was altered or never signed. */
  verifyClick(contactId: string, ref: string, encodedUrl: string, sig: string): string | null {
    if (!REF.test(ref) || !/^\d{1,15}$/.test(contactId)) return null;
    const url = Buffer.from(encodedUrl, 'base64url').toString();
    return this.clickKey.verify([contactId, ref, url], sig) && /^https?:\/\//i.test(url) ? url : null;
  }

  /**
   * The per-message tag that signs the open pixel and the web-version link (both name the same
   * message for the same reader, so one signature serves both).
   */
  messageTag(ref: string, contactId: number): string {
    return this.messageKey.sign([String(contactId), ref]);
  }

  openPixel(ref: string, contactId: number, tag = this.messageTag(ref, contactId)): string {
    return `${this.publicUrl}/o/${contactId}/${ref}/${tag}.gif`;
  }

  viewInBrowser(ref: string, contactId: number, tag = this.messageTag(ref, contactId)): string {
    return `${this.publicUrl}/v/${contactId}/${ref}/${tag}`;
  }

  /** True when a pixel or web-version link is genuine. */
  verifyMessageTag(contactId: string, ref: string, tag: string): boolean {
    return REF.test(ref) && /^\d{1,15}$/.test(contactId) && this.messageKey.verify([contactId, ref], tag);
  }

  /**
   * The signed token of unsubscribe and preference links: `<contact>.<topic or *>.<ref>.<sig>`.
   * One token serves both pages (and the mailto: unsubscribe address); the topic says what a
   * one-click unsubscribe stops.
   */
  token(s: LinkSubject): string {
    if (!REF.test(s.messageRef) || (s.topicKey !== null && !TOPIC.test(s.topicKey))) throw new Error('invalid link subject');
    const topic = s.topicKey ?? '*';
    return `${s.contactId}.${topic}.${s.messageRef}.${this.subscriberKey.sign([String(s.contactId), topic, s.messageRef])}`;
  }

  unsubscribe(token: string): string {
    return `${this.publicUrl}/u/${token}`;
  }

  preferences(token: string): string {
    return `${this.publicUrl}/p/${token}`;
  }

  /** Reads an unsubscribe/preference token, or null if it is malformed or forged. */
  readToken(token: string): LinkSubject | null {
    const m = /^(\d{1,15})\.([a-z0-9_-]{1,64}|\*)\.([a-z0-9]{8,40})\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (!m) return null;
    const [, id, topic, ref, sig] = m as unknown as [string, string, string, string, string];
    if (!this.subscriberKey.verify([id, topic, ref], sig)) return null;
    return { contactId: Number(id), topicKey: topic === '*' ? null : topic, messageRef: ref };
  }

  /**
   * The VERP envelope sender `bounces+<ref>-<sig>@<bounce domain>`: a bounce names the message it
   * is about, and a forged bounce cannot suppress someone (the hex signature survives MTAs that
   * lower-case addresses).
   */
  verpAddress(ref: string, bounceDomain: string): string {
    return `bounces+${ref}-${this.verpSig(ref)}@${bounceDomain}`;
  }

  /** The message ref of a VERP address, or null if it is not one of ours. */
  readVerp(address: string): string | null {
    const m = /^bounces\+([a-z0-9]{8,40})-([0-9a-f]{10})@/i.exec(address.trim());
    if (!m) return null;
    const ref = m[1]!.toLowerCase();
    return this.verpSig(ref) === m[2]!.toLowerCase() ? ref : null;
  }

  private verpSig(ref: string): string {
    return this.verpKey.macHex(ref).slice(0, 10);
  }
}
