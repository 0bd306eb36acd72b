/**
 * A one-line progress display for long CLI work: percentage, rate and ETA on a terminal; a plain
 * line every 10% when output is not a terminal (CI logs, files). Written here rather than taken
 * from a library because it is 50 lines and has to show rows/s while measuring bytes.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly total: number | undefined,
    private readonly unit: string,
  ) {}

  /** `done` counts toward `total` (e.g. bytes); `count` is what the rate is shown in (e.g. rows). */
  update(done: number, count: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const rate = count / secs;
    const frac = this.total ? Math.min(done / this.total, 1) : undefined;
    const eta = frac && frac > 0 ? (secs / frac) * (1 - frac) : undefined;
    const text = `${frac === undefined ? '' : `${(frac * 100).toFixed(1).padStart(5)}% `}${count.toLocaleString('en')} ${this.unit} · ${Math.round(rate).toLocaleString('en')}/s${eta === undefined ? '' : ` · ETA ${formatSecs(eta)}`}`;
    if (this.out.isTTY) {
      const width = 24;
      const bar = frac === undefined ? '' : `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] `;
      this.out.write(`\r${bar}${text}\x1b[K`);
    } else {
      const decile = frac === undefined ? Math.floor(secs / 10) : Math.floor(frac * 10);
      if (decile !== this.lastDecile || force) this.out.write(`${text}\n`);
      this.lastDecile = decile;
    }
  }

  finish(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

function formatSecs(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.ceil(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
