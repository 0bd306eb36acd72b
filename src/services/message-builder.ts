import type { Liquid, Template } from 'liquidjs';
import type { MailParts } from '../ports/mail-transport.ts';
import { buildMime, composeMessage, type PreparedVariant, type Recipient, type StoreProfile, type TemplateSettings } from '../templates/compose.ts';
import type { TrackingUrls } from '../templates/tracking-urls.ts';

// Building one message: render (Liquid), compose (links, headers), MIME, DKIM-sign. Plain data in,
// bytes out, no database: the same function runs on the delivery worker's thread or in a pool of
// worker threads (workers/build-pool.ts), where the CPU-heavy part of sending belongs.

/** A variant's source for rendering, as stored: parsed once per `cacheKey` (variant id and version). */
export interface VariantForBuild {
  cacheKey: string;
  locale: string;
  fromName: string;
  fromEmail: string;
  replyTo: string | null;
  subject: string;
  preheader: string;
  /** The compiled HTML (still holding its Liquid). */
  html: string;
  text: string | null;
}

/** Everything needed to build one message. Structured-cloneable, so it can cross to a thread. */
export interface BuildJob {
  ref: string;
  now: number;
  store: StoreProfile;
  template: TemplateSettings;
  variant: VariantForBuild;
  recipient: Recipient;
  context: Record<string, unknown>;
  streamId: string;
  /**
   * Whether the HTML and text go back in `parts` too: only a transport that builds its own MIME
   * (SendGrid) needs them; for the others they would be 30 KB or more copied back from a thread.
   */
  withBodies: boolean;
}

export interface BuiltMessage {
  raw: Buffer;
  parts: MailParts;
  envelope: { from: string; to: string };
}

/** The build failed for a reason of ours (a build thread died), not the message's: try it again later. */
export class BuildThreadError extends Error {}

/** Signs a message for its From domain with every active key of that domain (or returns it as is). */
export type Signer = (raw: Buffer, fromDomain: string) => Buffer | Promise<Buffer>;

export interface BuildEngine {
  liquid: Liquid;
  urls: TrackingUrls;
  sign: Signer;
}

const PARSED_MAX = 200;

/** Builds messages, keeping parsed variants across calls (bounded). */
export function createMessageBuilder(engine: BuildEngine): (job: BuildJob) => Promise<BuiltMessage> {
  const parsed = new Map<string, PreparedVariant>();
  const parse = (s: string): Template[] => engine.liquid.parse(s);
  const prepared = (v: VariantForBuild): PreparedVariant => {
    let hit = parsed.get(v.cacheKey);
    if (!hit) {
      hit = { locale: v.locale, fromName: v.fromName, fromEmail: v.fromEmail, replyTo: v.replyTo, subject: parse(v.subject), preheader: parse(v.preheader), html: parse(v.html), text: v.text === null ? null : parse(v.text) };
      if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
      parsed.set(v.cacheKey, hit);
    }
    return hit;
  };
  return async (job) => {
    const composed = await composeMessage(engine, job.store, {
      template: job.template,
      variant: prepared(job.variant),
      recipient: job.recipient,
      context: job.context,
      messageRef: job.ref,
      streamId: job.streamId,
    });
    const mime = await buildMime(composed, job.now);
    const fromDomain = composed.from.address.slice(composed.from.address.lastIndexOf('@') + 1).toLowerCase();
    const { messageRef: _ref, envelope, ...parts } = composed;
    if (!job.withBodies) {
      parts.html = '';
      parts.text = '';
    }
    return { raw: await engine.sign(mime, fromDomain), parts, envelope };
  };
}
