import { Worker } from 'node:worker_threads';
import type { TrackingHit } from '../services/tracking-writes.ts';

/** Writes groups of tracking hits somewhere: on this thread, or in a writer thread. */
export interface TrackingWriter {
  write(hits: TrackingHit[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A thread with its own SQLite connection that writes tracking hits (`url`: the database file).
 * A write resolves once its transaction committed; if the thread dies, waiting writes fail and
 * the next one starts a new thread.
 */
export function createTrackingThread(url: string): TrackingWriter {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./tracking-thread.ts', import.meta.url).href;
  // A worker does not inherit the tsx loader bin/chapar.js registered: register it first.
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let worker: Worker | null = null;

  const start = (): Worker => {
    const w = new Worker(boot, { eval: true, workerData: { url } });
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
    write(hits) {
      worker ??= start();
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker!.postMessage({ id, hits });
      });
    },
    async close() {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
