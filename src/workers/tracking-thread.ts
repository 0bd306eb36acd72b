import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/database.ts';
import { MachineDetector } from '../domain/machine-hits.ts';
import { readTrackingHits, type TrackingHitBatch } from '../services/tracking-hit-bytes.ts';
import { writeTrackingHits } from '../services/tracking-writes.ts';

// The tracking endpoints' writer on SQLite: its own connection to the same file (WAL lets the main
// thread read and write beside it; BEGIN IMMEDIATE and the busy timeout order the writers), so
// the commits of a campaign's clicks never hold up the event loop that answers the readers.

const db = openDatabase({ url: (workerData as { url: string }).url });
const detector = new MachineDetector();

parentPort!.on('message', (m: { id: number; batch: TrackingHitBatch }) => {
  Promise.resolve()
    .then(() => writeTrackingHits(db, detector, readTrackingHits(m.batch)))
    .then(
      () => parentPort!.postMessage({ id: m.id, ok: true }),
      (err: Error) => parentPort!.postMessage({ id: m.id, ok: false, message: err.message }),
    );
});
