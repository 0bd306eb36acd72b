import type { OrderInput, ProductInput, StoreSource } from '../domain/store.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { CsvReadError, readCsvRecords, type CsvRecord } from './csv-records.ts';
import { ORDER_COLUMNS, ORDER_REQUIRED, PRODUCT_COLUMNS, PRODUCT_REQUIRED, resolveStoreHeader, RowReader, type ColumnIndex } from './store-csv-rows.ts';
import { recordOrders, recordProducts } from './store-data.ts';

/** How an orders or products file is read. */
export interface StoreImportOptions {
  /** One character; default `,`. */
  delimiter?: string;
  /** Whose ids the file holds; default `csv`. `woocommerce` makes the rows land on the ones its connector made. */
  source?: StoreSource;
}

/** Called for each rejected line and each warning, as the import goes. */
export interface StoreImportHooks {
  onRejected?(line: number, reason: string): void;
  onWarning?(line: number, message: string): void;
}

/** What an import did, in lines of the file and in orders or products. */
export interface StoreImportReport {
  rows: number;
  /** Orders or products stored (an order's several lines count once). */
  stored: number;
  rejected: number;
  warnings: number;
  /** Set when the file could not be read to its end; everything before `line` was handled as counted. */
  error?: { message: string; line?: number };
}

const BATCH = 500;

// Input paths as the file's column names, so a reason names what the reader can fix.
const COLUMN_OF: Record<string, string> = {
  externalId: 'order_id', number: 'number', status: 'status', currency: 'currency', total: 'total', refunded: 'refunded', discount: 'discount', couponCodes: 'coupon_codes',
  orderedAt: 'ordered_at', paidAt: 'paid_at', completedAt: 'completed_at', updatedAt: 'updated_at', 'customer.email': 'email', 'customer.externalId': 'customer_id',
  'customer.firstName': 'first_name', 'customer.lastName': 'last_name', customer: 'email/customer_id', productExternalId: 'product_id', sku: 'sku', name: 'name', quantity: 'quantity', price: 'price',
  imageUrl: 'image_url', url: 'url', categories: 'categories', inStock: 'in_stock',
};

/** Which line an error of `orders[i].items[j].field` belongs to, and the column it names. */
function locate(detail: ErrorDetail, lines: readonly { first: number; items: readonly number[] }[], idColumn = 'order_id'): { line: number; text: string } {
  const m = /^\w+\[(\d+)\](?:\.items\[(\d+)\])?\.?(.*)$/.exec(detail.field);
  const group = lines[Number(m?.[1] ?? 0)] ?? { first: 0, items: [] };
  const line = m?.[2] !== undefined ? (group.items[Number(m[2])] ?? group.first) : group.first;
  const path = (m?.[3] ?? '').replace(/\[\d+\]$/, '');
  const column = path === 'externalId' ? idColumn : COLUMN_OF[path];
  return { line, text: `${column ?? (path || 'row')}: ${detail.message}` };
}

/** Drives one import: reads records, hands each to `take`, and reports a read failure after the rows before it. */
async function runImport(input: AsyncIterable<Buffer | string>, opts: StoreImportOptions, known: readonly string[], required: readonly string[], take: (columns: ColumnIndex, rec: CsvRecord) => Promise<void>, finish: () => Promise<void>, report: StoreImportReport): Promise<void> {
  let columns: ColumnIndex | undefined;
  try {
    for await (const records of readCsvRecords(input, { delimiter: opts.delimiter ?? ',' })) {
      for (const rec of records) {
        if (!columns) columns = resolveStoreHeader(rec.fields, known, required);
        else {
          report.rows++;
          await take(columns, rec);
        }
      }
    }
  } catch (err) {
    if (!(err instanceof CsvReadError)) throw err;
    report.error = { message: err.message, line: err.line };
  }
  if (!columns && !report.error) throw new AppError('validation_failed', `the file is empty: expected a header line (${required.join(', ')}, …)`, [{ field: 'line 1', message: 'is missing' }]);
  await finish();
}

function reporter(report: StoreImportReport, hooks: StoreImportHooks) {
  return {
    reject(line: number, reason: string) {
      report.rejected++;
      hooks.onRejected?.(line, reason);
    },
    warn(line: number, message: string) {
      report.warnings++;
      hooks.onWarning?.(line, message);
    },
  };
}

interface PendingOrder {
  input: OrderInput;
  /** Every file line of the order (the first holds its own fields). */
  lines: number[];
  /** The file line of each of its items, in order. */
  itemLines: number[];
  problems: { line: number; reason: string }[];
}

/**
 * Imports orders from CSV: one order line a row, the rows of an order next to each other. Bad
 * lines are reported with their number and reason (an order with a bad line is rejected whole,
 * its other lines pointing at the bad one); good orders are stored through recordOrders, 500 at a
 * time. A header problem is thrown before anything is stored.
 */
export async function importOrdersCsv(ctx: ServiceContext, input: AsyncIterable<Buffer | string>, opts: StoreImportOptions = {}, hooks: StoreImportHooks = {}): Promise<StoreImportReport> {
  const report: StoreImportReport = { rows: 0, stored: 0, rejected: 0, warnings: 0 };
  const out = reporter(report, hooks);
  const source = opts.source ?? 'csv';
  const firstLine = new Map<string, number>();
  let pending: PendingOrder[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    const good = batch.filter((p) => p.problems.length === 0);
    for (const p of batch.filter((b) => b.problems.length > 0)) rejectOrder(out, p, p.problems);
    if (good.length === 0) return;
    const r = await recordOrders(ctx, good.map((p) => p.input));
    report.stored += r.stored.length;
    const lines = good.map((p) => ({ first: p.lines[0]!, items: p.itemLines }));
    for (const rej of r.rejected) rejectOrder(out, good[rej.index]!, rej.errors.map((e) => locate(e, lines)).map(({ line, text }) => ({ line, reason: text })));
    for (const w of r.warnings) {
      const { line, text } = locate(w, lines);
      out.warn(line, text);
    }
  };
  const take = async (columns: ColumnIndex, rec: CsvRecord) => {
    const row = new RowReader(columns, rec.fields);
    const id = row.text('order_id');
    if (id === undefined) return out.reject(rec.line, 'order_id: is required');
    let current = pending[pending.length - 1];
    if (current?.input.externalId !== id) {
      const seen = firstLine.get(id);
      if (seen !== undefined) return out.reject(rec.line, `order_id: the rows of order "${id}" must be next to each other; it started on line ${seen}`);
      if (pending.length >= BATCH) await flush();
      firstLine.set(id, rec.line);
      current = { input: orderOf(row, id, source), lines: [], itemLines: [], problems: [] };
      pending.push(current);
    }
    const item = itemOf(row);
    if (item) {
      current.input.items.push(item);
      current.itemLines.push(rec.line);
    }
    current.lines.push(rec.line);
    if (row.problems.length > 0) current.problems.push({ line: rec.line, reason: row.problems.join('; ') });
  };
  await runImport(input, opts, ORDER_COLUMNS, ORDER_REQUIRED, take, flush, report);
  return report;
}

// Every line of a rejected order is reported: its own reasons, or a pointer to the line at fault.
function rejectOrder(out: ReturnType<typeof reporter>, p: PendingOrder, reasons: { line: number; reason: string }[]): void {
  const byLine = new Map<number, string[]>();
  for (const r of reasons) byLine.set(r.line, [...(byLine.get(r.line) ?? []), r.reason]);
  const first = [...byLine.keys()].sort((a, b) => a - b)[0]!;
  for (const line of new Set([...p.lines, ...byLine.keys()])) {
    const own = byLine.get(line);
    out.reject(line, own ? own.join('; ') : `order "${p.input.externalId}" was not stored: see line ${first}`);
  }
}

function orderOf(row: RowReader, id: string, source: StoreSource): OrderInput {
  return {
    source,
    externalId: id,
    number: row.text('number') ?? null,
    customer: { source, email: row.text('email') ?? null, externalId: row.text('customer_id') ?? null, firstName: row.text('first_name') ?? null, lastName: row.text('last_name') ?? null },
    status: row.status('status')!,
    currency: row.text('currency')!,
    total: row.number('total')!,
    refunded: row.number('refunded') ?? 0,
    discount: row.number('discount') ?? 0,
    couponCodes: row.list('coupon_codes') ?? [],
    orderedAt: row.time('ordered_at')!,
    paidAt: row.time('paid_at') ?? null,
    completedAt: row.time('completed_at') ?? null,
    updatedAt: row.time('updated_at') ?? null,
    items: [],
  };
}

function itemOf(row: RowReader): OrderInput['items'][number] | undefined {
  const [productId, sku, name, quantity, price] = [row.text('product_id'), row.text('sku'), row.text('name'), row.integer('quantity'), row.number('price')];
  if ([productId, sku, name, row.text('quantity'), row.text('price')].every((v) => v === undefined)) return undefined;
  return { productExternalId: productId ?? null, sku: sku ?? null, name: name!, quantity: quantity!, price: price! };
}

/** Imports products from CSV, one a row; bad lines are reported with their number and reason, good ones stored. */
export async function importProductsCsv(ctx: ServiceContext, input: AsyncIterable<Buffer | string>, opts: StoreImportOptions = {}, hooks: StoreImportHooks = {}): Promise<StoreImportReport> {
  const report: StoreImportReport = { rows: 0, stored: 0, rejected: 0, warnings: 0 };
  const out = reporter(report, hooks);
  const source = opts.source ?? 'csv';
  let pending: { input: ProductInput; line: number }[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const r = await recordProducts(ctx, batch.map((p) => p.input));
    report.stored += r.stored.length;
    const lines = batch.map((p) => ({ first: p.line, items: [] }));
    for (const rej of r.rejected) out.reject(batch[rej.index]!.line, rej.errors.map((e) => locate(e, lines, 'product_id').text).join('; '));
    for (const w of r.warnings) out.warn(batch[w.index]!.line, locate(w, lines, 'product_id').text);
  };
  const take = async (columns: ColumnIndex, rec: CsvRecord) => {
    const row = new RowReader(columns, rec.fields);
    const input: ProductInput = {
      source,
      externalId: row.text('product_id')!,
      sku: row.text('sku') ?? null,
      name: row.text('name')!,
      url: row.text('url') ?? null,
      imageUrl: row.text('image_url') ?? null,
      price: row.number('price') ?? null,
      currency: row.text('currency') ?? null,
      categories: row.list('categories') ?? [],
      inStock: row.boolean('in_stock') ?? null,
      updatedAt: row.time('updated_at') ?? null,
    };
    if (row.problems.length > 0) return out.reject(rec.line, row.problems.join('; '));
    pending.push({ input, line: rec.line });
    if (pending.length >= BATCH) await flush();
  };
  await runImport(input, opts, PRODUCT_COLUMNS, PRODUCT_REQUIRED, take, flush, report);
  return report;
}
