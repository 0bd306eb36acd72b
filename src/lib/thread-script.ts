import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

// Worker threads run our TypeScript compiled by esbuild (the compiler tsx itself uses) into one
// JavaScript module per entry, instead of registering tsx's loader in each thread as the main
// thread does. On Node 20 a loader registered in a thread runs on a hooks thread of its own: with
// two build threads and the tracking writer, three extra threads of ~20–27 MB each and about a
// second of start-up apiece, during which the first tracking hits waited (bench:send, issue 4:
// peak RSS over its 400 MB goal). Packages are not bundled: each stays an import of its own file
// (by absolute URL, so the module can live outside the project), loaded by Node as it would be
// from our source.

/** One compiled module per entry and process; the first start of a kind of thread waits for it. */
const compiled = new Map<string, Promise<string>>();
let outDir: string | null = null;
let compiling = 0;

/** The compiled module for `entry` (a .ts file URL): a file path, written once per process, for `new Worker(path)`. */
export function threadScript(entry: URL): Promise<string> {
  let hit = compiled.get(entry.href);
  if (!hit) {
    hit = compile(entry);
    compiled.set(entry.href, hit);
    hit.catch(() => compiled.delete(entry.href));
  }
  return hit;
}

async function compile(entry: URL): Promise<string> {
  const esbuild = await import('esbuild');
  compiling++;
  let code: string;
  try {
    const result = await esbuild.build({
      entryPoints: [fileURLToPath(entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      plugins: [packagesByUrl],
    });
    code = result.outputFiles[0]!.text;
  } finally {
    // esbuild compiles in a child process of its own; a server has no use for it once its
    // threads' modules are written (a later compile starts it again).
    if (--compiling === 0) await esbuild.stop();
  }
  // import.meta.url would name the compiled file, not the source beside which a module looks
  // for its files: refuse, rather than let such a thread fail later in a way hard to trace.
  if (/\bimport\.meta\b/.test(code)) throw new Error(`${basename(entry.pathname)}: a module it imports uses import.meta, which cannot run in a compiled thread module`);
  outDir ??= privateDir();
  const file = join(outDir, basename(entry.pathname).replace(/\.ts$/, '.mjs'));
  writeFileSync(file, `// Compiled from ${fileURLToPath(entry)} by src/lib/thread-script.ts; the comments name each source file.\n${code}`, { mode: 0o600 });
  return file;
}

// A directory of this process's own (mode 0700: no other user may plant code there), removed when
// the process exits. A process killed outright leaves a few hundred kilobytes in the temp dir.
function privateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chapar-threads-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Bare imports: Node's built-ins stay as they are; a package becomes an import of the file that
// esbuild's resolver (Node's rules: exports, conditions) finds for it from the importing file.
const packagesByUrl: Plugin = {
  name: 'packages-by-url',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'inner') return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
      if (r.errors.length > 0) return { errors: r.errors };
      return { path: pathToFileURL(r.path).href, external: true };
    });
  },
};
