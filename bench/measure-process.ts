import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one child process cost: wall time from spawn to exit, its peak memory and CPU time. */
export interface ProcessMeasurement {
  exitCode: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  /** Peak resident set size in bytes: the larger of GNU time's figure and the polled VmHWM. */
  peakRssBytes: number;
  /** GNU time's maximum resident set size (the kernel's ru_maxrss), when /usr/bin/time exists. */
  timeMaxRssBytes?: number;
  /** The highest VmHWM seen while polling /proc every 50 ms. */
  polledHwmBytes: number;
  /** User + system CPU seconds of the process and the children it waited for (GNU time), if known. */
  cpuSeconds?: number;
}

const GNU_TIME = '/usr/bin/time';
const POLL_MS = 50;

/**
 * Runs a command to completion and measures it. Peak RSS comes from two sources so neither has to be
 * trusted alone: GNU time reports the kernel's exact high-water mark after exit, and polling
 * /proc/<pid>/status (VmHWM, itself a high-water mark) works where /usr/bin/time is missing.
 */
export async function measureProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ProcessMeasurement> {
  const useTime = existsSync(GNU_TIME);
  const scratch = mkdtempSync(join(tmpdir(), 'chapar-bench-time-'));
  const timeFile = join(scratch, 'time.txt');
  const [file, argv] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let polledHwm = 0;
  const poll = () => {
    for (const pid of processTree(child.pid!)) polledHwm = Math.max(polledHwm, readHwm(pid));
  };
  const timer = setInterval(poll, POLL_MS);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, sig) => resolve([code, sig]));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  clearInterval(timer);

  const result: ProcessMeasurement = { exitCode, signal, stdout, stderr, wallSeconds, peakRssBytes: polledHwm, polledHwmBytes: polledHwm };
  if (useTime && existsSync(timeFile)) {
    // GNU time writes "Command exited with non-zero status N" before the format line on failure.
    const line = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const [kb, user, sys] = line.split(' ').map(Number);
    if (kb !== undefined && Number.isFinite(kb)) {
      result.timeMaxRssBytes = kb * 1024;
      result.peakRssBytes = Math.max(polledHwm, kb * 1024);
    }
    if (user !== undefined && sys !== undefined && Number.isFinite(user + sys)) result.cpuSeconds = user + sys;
  }
  rmSync(scratch, { recursive: true, force: true });
  return result;
}

// The process and its descendants (GNU time → node → esbuild's service, for instance).
function processTree(root: number): number[] {
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) if (c) queue.push(Number(c));
    } catch {
      // Gone already, or no /proc: nothing below it to poll.
    }
  }
  return out;
}

function readHwm(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
