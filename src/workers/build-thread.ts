import { parentPort, workerData } from 'node:worker_threads';
import { createKeyring } from '../lib/secrets.ts';
import type { DkimKey } from '../mta/dkim.ts';
import { signWithKeys } from '../services/dkim-signer.ts';
import { createMessageBuilder, type BuildJob, type VariantForBuild } from '../services/message-builder.ts';
import { createLiquid } from '../templates/liquid.ts';
import { TrackingUrls } from '../templates/tracking-urls.ts';
import type { FromBuildThread, ToBuildThread } from './build-pool.ts';

// One build thread: renders, builds and signs the messages its pool sends it. It holds no database
// connection; everything a message needs comes in the job.

const setup = workerData as { secret: Uint8Array; publicUrl: string; keys: DkimKey[] };
const port = parentPort!;
let sign = signWithKeys(setup.keys);
let now = 0;
const variants = new Map<string, VariantForBuild>();
const build = createMessageBuilder({
  liquid: createLiquid(),
  urls: new TrackingUrls(setup.publicUrl, createKeyring(Buffer.from(setup.secret))),
  sign: (raw, domain) => sign(raw, domain, now),
});

port.on('message', (m: ToBuildThread) => {
  if (m.t === 'keys') {
    sign = signWithKeys(m.keys);
    return;
  }
  // The pool sends a variant's source once per thread (it keeps at most 1,000 keys, as we do).
  const v = m.job.variant;
  if ('html' in v) {
    if (variants.size > 1000) variants.clear();
    variants.set(v.cacheKey, v);
  }
  const variant = variants.get(v.cacheKey);
  if (!variant) {
    port.postMessage({ t: 'error', id: m.id, message: `variant ${v.cacheKey} was never sent to this thread`, code: null, details: null } satisfies FromBuildThread);
    return;
  }
  const job: BuildJob = { ...m.job, variant };
  now = job.now;
  build(job).then(
    (built) => {
      // A signed message owns its memory (dkim.ts), which is handed over as is; otherwise copied out.
      const r = built.raw;
      const raw = (r.byteOffset === 0 && r.byteLength === r.buffer.byteLength ? r.buffer : r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength)) as ArrayBuffer;
      const reply: FromBuildThread = { t: 'built', id: m.id, raw, parts: built.parts, envelope: built.envelope };
      port.postMessage(reply, [raw]);
    },
    (err: unknown) => {
      const e = err as Error & { code?: string; details?: unknown };
      const reply: FromBuildThread = { t: 'error', id: m.id, message: e.message, code: e.code ?? null, details: e.details ?? null };
      port.postMessage(reply);
    },
  );
});
