import type { WooMapped } from '../adapters/store/woocommerce-rest-mapping.ts';
import type { StoreRejection, StoreBatchResult } from './store-data.ts';

// What the two WooCommerce backfills (REST: services/woocommerce-rest-backfill.ts, database:
// services/woocommerce-db-backfill.ts) share: the tally each kind of record keeps, the report a
// run returns, and the progress it tells the CLI about.

/** The kinds of record a backfill stores. */
export type BackfillResource = 'products' | 'customers' | 'orders';

/** Counts for one kind of record in one run. */
export interface BackfillTally {
  /** Records the shop returned. */
  read: number;
  /** Stored: created or changed. */
  stored: number;
  /** Of those, seen for the first time. */
  created: number;
  /** Already stored in a newer version (updatedAt), so left as they were. */
  unchanged: number;
  /** Left out on purpose (trashed orders, customers without an address). */
  skipped: number;
  /** Could not be read or did not pass the checks; the first reasons are in `problems`. */
  rejected: number;
}

/** What one backfill run did. */
export interface BackfillReport {
  /** The cursor name this run resumed from and saved to. */
  cursor: string;
  /** Where the run started: `start`, `resumed …`, or `new and changed since …`. */
  startedFrom: string;
  tallies: Partial<Record<BackfillResource, BackfillTally>>;
  /** The first 20 reasons for rejected records. */
  problems: string[];
  /** true: everything was read; false: the run stopped (error or signal) and a rerun continues. */
  complete: boolean;
  /** Why the run stopped before the end. */
  error?: Error;
}

/** Progress after each stored page: `done` of `total` (when the shop told) records of `resource`. */
export interface BackfillProgress {
  resource: BackfillResource;
  done: number;
  total: number | undefined;
  page?: number;
  totalPages?: number;
}

export interface BackfillHooks {
  onProgress?(p: BackfillProgress): void;
  /** Called when a resource starts, with its total when known. */
  onResource?(resource: BackfillResource, total: number | undefined): void;
}

const MAX_PROBLEMS = 20;

/** A zeroed tally. */
export function emptyTally(): BackfillTally {
  return { read: 0, stored: 0, created: 0, unchanged: 0, skipped: 0, rejected: 0 };
}

/** Splits mapped records into those to store and those left out, counting the latter. */
export function sortMapped<T>(report: BackfillReport, tally: BackfillTally, mapped: WooMapped<T>[]): T[] {
  const good: T[] = [];
  for (const m of mapped) {
    tally.read++;
    if (m.kind === 'ok') good.push(m.value);
    else if (m.kind === 'skip') tally.skipped++;
    else {
      tally.rejected++;
      noteProblem(report, m.reason);
    }
  }
  return good;
}

/** Counts what store-data did with a batch; `describe(i)` names input i in problem lines. */
export function countStored(report: BackfillReport, tally: BackfillTally, result: StoreBatchResult<{ created?: boolean; applied?: boolean; contactId?: number | null }>, describe: (index: number) => string): void {
  for (const s of result.stored) {
    if (s.applied === false) tally.unchanged++;
    else if (s.applied === undefined && s.contactId === null) tally.skipped++;
    else {
      tally.stored++;
      if (s.created) tally.created++;
    }
  }
  for (const r of result.rejected) {
    tally.rejected++;
    noteProblem(report, rejectionText(r, describe));
  }
}

function rejectionText(r: StoreRejection, describe: (index: number) => string): string {
  return `${describe(r.index)}: ${r.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`;
}

/** Keeps a problem line (the first 20 only: a broken shop can have thousands). */
export function noteProblem(report: BackfillReport, text: string): void {
  if (report.problems.length < MAX_PROBLEMS) report.problems.push(text);
}
