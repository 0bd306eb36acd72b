import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import SqliteDatabase from 'better-sqlite3';

/** The facts a benchmark figure means nothing without: when, on what CPU, with which runtimes. */
export interface MachineInfo {
  date: string;
  node: string;
  cpuModel: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  sqlite: string;
  /** The commit measured, and how many files under src/ differed from it. */
  git: string;
}

/** Reads the machine's description from /proc/cpuinfo, os and the SQLite library in use. */
export function describeMachine(): MachineInfo {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: os.cpus() is the best there is.
  }
  const db = new SqliteDatabase(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return {
    date: new Date().toString(),
    node: process.version,
    cpuModel,
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    sqlite,
    git: describeCheckout(),
  };
}

/** The 1-, 5- and 15-minute load averages: on a shared machine, read every figure beside them. */
export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/**
 * The share of CPU time the hypervisor gave to other guests ("steal" in /proc/stat) from now until
 * the returned function is called, as a percentage; null where /proc/stat cannot be read. This
 * machine is a shared virtual one: the same code has run ~30% slower in minutes when steal rose
 * from ~1% to 26–35% (vmstat, 2026-11-27), so every timed run prints it beside its figure.
 */
export function stealMeter(): () => number | null {
  const read = (): number[] | null => {
    try {
      const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
      return fields.length === 8 && fields.every(Number.isFinite) ? fields : null;
    } catch {
      return null;
    }
  };
  const start = read();
  return () => {
    const end = read();
    if (!start || !end) return null;
    const delta = end.map((v, i) => v - start[i]!);
    const total = delta.reduce((a, b) => a + b, 0);
    return total > 0 ? (delta[7]! / total) * 100 : null;
  };
}

/** "steal 12%" for a run's line, or "" where it cannot be measured. */
export function stealText(steal: number | null): string {
  return steal === null ? '' : `steal ${steal.toFixed(0)}%`;
}

function describeCheckout(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return changed === 0 ? head : `${head} + ${changed} changed file(s) under src/`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
