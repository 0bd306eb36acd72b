import { readFileSync } from 'node:fs';

// Reads a V8 .cpuprofile (what `node --cpu-prof` writes) and says where the time went: per
// function by self time, per function by inclusive time, and per area (a src/ file, an npm
// package, Node's internals, the garbage collector, idle).

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Time in milliseconds spent under one name (function or area). */
export interface TimeShare {
  name: string;
  ms: number;
  share: number;
}

/** Where the samples of one profile fell. */
export interface ProfileSummary {
  totalMs: number;
  selfByFunction: TimeShare[];
  inclusiveByFunction: TimeShare[];
  selfByArea: TimeShare[];
}

/** Summarises a .cpuprofile file: every list is sorted, largest first. */
export function summariseCpuProfile(path: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let totalMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const leaf = byId.get(profile.samples[i]!)!;
    add(self, functionKey(leaf, root), ms);
    add(areas, areaOf(leaf.callFrame.url, leaf.callFrame.functionName, root), ms);
    // Each function on the sampled stack counts once, however deep its recursion.
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const key = functionKey(byId.get(id)!, root);
      if (!seen.has(key)) add(inclusive, key, ms);
      seen.add(key);
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, ms]) => ({ name, ms, share: ms / totalMs })).sort((a, b) => b.ms - a.ms);
  return { totalMs, selfByFunction: sorted(self), inclusiveByFunction: sorted(inclusive).filter((t) => t.name !== '(root)'), selfByArea: sorted(areas) };
}

function add(m: Map<string, number>, key: string, ms: number): void {
  m.set(key, (m.get(key) ?? 0) + ms);
}

function functionKey(n: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = n.callFrame;
  if (!url) return functionName || '(anonymous)';
  return `${functionName || '(anonymous)'} ${shortUrl(url, root)}:${lineNumber + 1}`;
}

// An area is the unit one would optimise: a file of ours, a package, or a V8/Node bucket.
function areaOf(url: string, functionName: string, root: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName}`;
  const short = shortUrl(url, root);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short);
  if (pkg) return `npm:${pkg[1]}`;
  if (short.startsWith('node:')) return 'node internals';
  return short;
}

function shortUrl(url: string, root: string): string {
  return url.replace(/^file:\/\//, '').replace(`${root}/`, '');
}
