import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode, type ErrorDetail } from '../lib/errors.ts';
import { threadScript } from '../lib/thread-script.ts';
import type { DkimKey } from '../mta/dkim.ts';
import type { MailParts } from '../ports/mail-transport.ts';
import { BuildThreadError, type BuildJob, type BuiltMessage } from '../services/message-builder.ts';

// Rendering, MIME and above all RSA signing are most of a send's CPU time (RSA-2048 alone is
// ~1,100 signatures a second on one core here: platform-facts.md). A pool of threads does them,
// so the main thread is left with the database and the SMTP connections and every core works.

// A variant's source (20 KB or more of HTML) crosses to a thread once; later jobs name it by key.
export type ToBuildThread = { t: 'build'; id: number; job: BuildJob | (Omit<BuildJob, 'variant'> & { variant: { cacheKey: string } }) } | { t: 'keys'; keys: DkimKey[] };
export type FromBuildThread =
  | { t: 'built'; id: number; raw: ArrayBuffer; parts: MailParts; envelope: { from: string; to: string } }
  | { t: 'error'; id: number; message: string; code: string | null; details: unknown };

export interface BuildPool {
  build(job: BuildJob): Promise<BuiltMessage>;
  /** New signing keys (after the DKIM keys changed). */
  setKeys(keys: DkimKey[]): void;
  /** Ends one thread as a crash would (tests). */
  terminateThreadForTest(i: number): Promise<void>;
  close(): Promise<void>;
}


export async function createBuildPool(opts: { threads: number; secret: Buffer; publicUrl: string; keys: DkimKey[] }): Promise<BuildPool> {
  const script = await threadScript(new URL('./build-thread.ts', import.meta.url));
  const pending = new Map<number, { resolve: (b: BuiltMessage) => void; reject: (e: Error) => void; thread: number }>();
  const load: number[] = [];
  const known: Set<string>[] = [];
  let nextId = 0;
  let keys = opts.keys;
  let closing = false;
  // A thread that dies (an out-of-memory, a bug) fails only the jobs it held, with a
  // BuildThreadError (the delivery service puts those messages back in the queue: the fault is
  // ours, not the message's), and is replaced at once so later jobs never wait on a dead thread.
  const spawn = (i: number): Worker => {
    // A message's garbage is a few hundred kilobytes and dies young: a 4 MB young generation (V8's
    // default is ~50 MB a thread) cut peak RSS with two threads from 450 to 325 MB at the same rate (bench:send).
    const w = new Worker(script, { workerData: { secret: new Uint8Array(opts.secret), publicUrl: opts.publicUrl, keys }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    load[i] = 0;
    known[i] = new Set();
    w.on('message', (m: FromBuildThread) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      load[i]!--;
      if (m.t === 'built') p.resolve({ raw: Buffer.from(m.raw), parts: m.parts, envelope: m.envelope });
      else p.reject(m.code ? new AppError(m.code as ErrorCode, m.message, (m.details as ErrorDetail[]) ?? []) : new Error(m.message));
    });
    let gone = false;
    const died = (why: string) => {
      if (gone) return;
      gone = true;
      for (const [id, p] of pending) {
        if (p.thread === i) {
          pending.delete(id);
          p.reject(new BuildThreadError(`build thread ${i} ${why}`));
        }
      }
      if (!closing) threads[i] = spawn(i);
    };
    w.on('error', (err) => died(`failed: ${err.message}`));
    w.on('exit', (code) => died(`exited with code ${code}`));
    return w;
  };
  const threads: Worker[] = [];
  for (let i = 0; i < opts.threads; i++) threads.push(spawn(i));
  return {
    build(job) {
      // The least busy thread takes the job.
      let best = 0;
      for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
      const id = nextId++;
      load[best]!++;
      return new Promise<BuiltMessage>((resolve, reject) => {
        pending.set(id, { resolve, reject, thread: best });
        const seen = known[best]!;
        const key = job.variant.cacheKey;
        const sent = seen.has(key) ? { ...job, variant: { cacheKey: key } } : job;
        if (seen.size > 1000) seen.clear();
        seen.add(key);
        threads[best]!.postMessage({ t: 'build', id, job: sent } satisfies ToBuildThread);
      });
    },
    setKeys(next) {
      keys = next;
      for (const w of threads) w.postMessage({ t: 'keys', keys } satisfies ToBuildThread);
    },
    terminateThreadForTest(i) {
      return threads[i]!.terminate().then(() => undefined);
    },
    async close() {
      closing = true;
      await Promise.all(threads.map((w) => w.terminate()));
    },
  };
}
