import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { threadScript } from '../lib/thread-script.ts';
import type { ResolveColumns, RowPiece, RowReadOptions } from './contact-import-rows.ts';
import type { ColumnTarget } from './csv-columns.ts';
import { CsvReadError } from './csv-records.ts';

// Parsing and validating a CSV file is half of an import's CPU time; on SQLite the writes are the
// other half and cannot leave the thread that holds the connection. This runs the first half in a
// worker thread (contact-import-worker.ts) so the two overlap. Both queues between the threads are
// bounded, so memory stays flat whatever the file's size.

/** Chunks of the file sent ahead of the worker's parsing (64 KB each for a file stream). */
const CHUNKS_AHEAD = 32;
/** Pieces (a batch of rows each) the worker may have sent that this thread has not taken yet. */
const PIECES_AHEAD = 2;
/**
 * The worker's heap. Left to V8 it grows to 50–90 MB of mostly garbage; what it keeps alive is
 * a few chunks and one piece (at most ~4 MB of text, see contact-import-rows.ts), so these
 * limits hold it near 40 MB (bench:import's peak RSS goal is the whole process's). A smaller
 * young generation saved another 10 MB but cost the worker a quarter of its time in GC.
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 24, maxOldGenerationSizeMb: 64 };

/** Messages to the worker. */
export type ToWorker =
  | { t: 'chunk'; bytes: Uint8Array }
  | { t: 'end' }
  | { t: 'read-error'; message: string }
  | { t: 'columns'; columns: ColumnTarget[] }
  | { t: 'ack' };

/** Messages from the worker. */
export type FromWorker =
  | { t: 'pull' }
  | { t: 'header'; fields: string[] }
  // The piece itself waits on its own port (see WorkerSetup.pieces).
  | { t: 'piece' }
  | { t: 'error'; csv?: { message: string; line?: number }; message: string; stack?: string }
  | { t: 'done' };

/** What the worker is started with. */
export interface WorkerSetup {
  opts: RowReadOptions;
  piecesAhead: number;
  /**
   * Where pieces go. This thread takes each one off it (receiveMessageOnPort) only when it is
   * ready to store it: until then a piece waits as bytes outside the JS heap, and its rows, made
   * just before they are stored, die young instead of filling the old generation (peak RSS).
   */
  pieces: MessagePort;
}

type Event = FromWorker | { t: 'crash'; error: Error };

/**
 * Does what readRowPieces does, in a worker thread: this thread only reads the input and hands
 * it over, resolves the header (it needs the database), and receives the pieces. The same rows,
 * rejects and errors come out, in the same order.
 */
export async function* readRowPiecesInWorker(input: AsyncIterable<Buffer | string>, opts: RowReadOptions, resolveColumns: ResolveColumns): AsyncGenerator<RowPiece> {
  const channel = new MessageChannel();
  const worker = await startWorker({ opts, piecesAhead: PIECES_AHEAD, pieces: channel.port2 });
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  const push = (e: Event) => {
    events.push(e);
    wake?.();
  };
  const source = input[Symbol.asyncIterator]();
  let credit = CHUNKS_AHEAD;
  let pumping = false;
  let inputDone = false;
  let finished = false;
  // Reads the input while the worker has room for more; a failed read is passed on in order.
  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (credit > 0 && !inputDone && !finished) {
        let next: IteratorResult<Buffer | string>;
        try {
          next = await source.next();
        } catch (err) {
          inputDone = true;
          post(worker, { t: 'read-error', message: (err as Error).message });
          break;
        }
        if (next.done) {
          inputDone = true;
          post(worker, { t: 'end' });
          break;
        }
        credit--;
        // A copy of the bytes alone: a stream's chunk may be a view into a larger shared buffer.
        const bytes = new Uint8Array(typeof next.value === 'string' ? Buffer.from(next.value) : next.value);
        worker.postMessage({ t: 'chunk', bytes } satisfies ToWorker, [bytes.buffer]);
      }
    } finally {
      pumping = false;
    }
  };
  worker.on('message', (m: FromWorker) => {
    // Handled here, not in the generator: the generator waits while its consumer writes a batch.
    if (m.t === 'pull') {
      credit++;
      void pump();
    } else push(m);
  });
  worker.on('error', (error) => push({ t: 'crash', error }));
  worker.on('exit', (code) => push({ t: 'crash', error: new Error(`the CSV worker thread stopped unexpectedly (exit code ${code})`) }));

  try {
    void pump();
    for (;;) {
      while (events.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      const e = events.shift()!;
      switch (e.t) {
        case 'header':
          post(worker, { t: 'columns', columns: await resolveColumns(e.fields) });
          break;
        case 'piece': {
          const piece = receiveMessageOnPort(channel.port1)!.message as RowPiece;
          post(worker, { t: 'ack' });
          yield piece;
          break;
        }
        case 'error':
          if (e.csv) throw new CsvReadError(e.csv.message, e.csv.line);
          throw Object.assign(new Error(e.message), { stack: e.stack });
        case 'crash':
          throw e.error;
        case 'done':
          return;
      }
    }
  } finally {
    finished = true;
    worker.removeAllListeners();
    await worker.terminate();
    channel.port1.close();
    // As a for-await loop would on an early exit: the input is not read any further.
    if (!inputDone) await source.return?.();
  }
}

function post(worker: Worker, m: ToWorker): void {
  worker.postMessage(m);
}

// The worker runs our TypeScript compiled into one module (lib/thread-script.ts).
async function startWorker(setup: WorkerSetup): Promise<Worker> {
  const script = await threadScript(new URL('./contact-import-worker.ts', import.meta.url));
  return new Worker(script, { workerData: setup, transferList: [setup.pieces], resourceLimits: WORKER_HEAP });
}
