import { parentPort, workerData } from 'node:worker_threads';
import { readRowPieces } from './contact-import-rows.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './contact-import-thread.ts';
import type { ColumnTarget } from './csv-columns.ts';
import { CsvReadError } from './csv-records.ts';

// The worker thread's side of readRowPiecesInWorker (contact-import-thread.ts): the file's bytes
// come in as messages, pieces of validated rows go out, each side waiting when the other is behind.

const port = parentPort!;
const { opts, piecesAhead, pieces } = workerData as WorkerSetup;
const send = (m: FromWorker) => port.postMessage(m);

const chunks: Buffer[] = [];
let inputEnded = false;
let readError: string | undefined;
let columnsReply: ((columns: ColumnTarget[]) => void) | undefined;
let unacked = 0;
let wake: (() => void) | undefined;

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'chunk': chunks.push(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength)); break;
    case 'end': inputEnded = true; break;
    case 'read-error': readError = m.message; break;
    case 'columns': columnsReply?.(m.columns); break;
    case 'ack': unacked--; break;
  }
  wake?.();
});

function nextMessage(): Promise<void> {
  return new Promise<void>((resolve) => (wake = resolve));
}

// The file as the main thread reads it; every chunk taken asks for one more.
async function* input(): AsyncGenerator<Buffer> {
  for (;;) {
    const chunk = chunks.shift();
    if (chunk) {
      send({ t: 'pull' });
      yield chunk;
    } else if (readError !== undefined) throw new Error(readError);
    else if (inputEnded) return;
    else await nextMessage();
  }
}

// The header is resolved by the main thread, which has the database (topic columns must exist).
function askColumns(fields: string[]): Promise<ColumnTarget[]> {
  return new Promise<ColumnTarget[]>((resolve) => {
    columnsReply = resolve;
    send({ t: 'header', fields });
  });
}

try {
  for await (const piece of readRowPieces(input(), opts, askColumns)) {
    while (unacked >= piecesAhead) await nextMessage();
    unacked++;
    pieces.postMessage(piece);
    send({ t: 'piece' });
  }
  send({ t: 'done' });
} catch (err) {
  const e = err as Error;
  send({ t: 'error', csv: err instanceof CsvReadError ? { message: e.message, line: err.line } : undefined, message: e.message, stack: e.stack });
}
