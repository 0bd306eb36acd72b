import { Worker } from 'node:worker_threads';
import { threadScript } from '../lib/thread-script.ts';
import type { TrackingHitBatch } from '../services/tracking-hit-bytes.ts';

/** Writes groups of tracking hits somewhere: on this thread, or in a writer thread. */
export interface TrackingWriter {
  write(batch: TrackingHitBatch): Promise<void>;
  close(): Promise<void>;
}

/**
 * A thread with its own SQLite connection that writes tracking hits (`url`: the database file).
 * A write resolves once its transaction committed; if the thread dies, waiting writes fail and
 * the next one starts a new thread.
 */
export function createTrackingThread(url: string): TrackingWriter {
  const entry = new URL('./tracking-thread.ts', import.meta.url);
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let worker: Worker | null = null;

  const start = (script: string): Worker => {
    const w = new Worker(script, { workerData: { url } });
    w.on('message', (m: { id: number; ok: boolean; message?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.ok) p?.resolve();
      else p?.reject(new Error(`the tracking writer could not write: ${m.message}`));
    });
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error(`the tracking writer thread stopped (exit ${code})`));
      }
    });
    w.on('error', () => {});
    return w;
  };

  return {
    async write(batch) {
      // The thread's compiled module is ready after the first write; later writes do not wait.
      if (!worker) {
        const script = await threadScript(entry);
        worker ??= start(script);
      }
      const w = worker;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // The bytes move to the thread (transferred, not copied).
        w.postMessage({ id, batch }, [batch.bytes]);
      });
    },
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
