import { readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { threadScript } from '../../src/lib/thread-script.ts';

const fixture = (name: string) => new URL(`../fixtures/threads/${name}`, import.meta.url);

describe('thread modules compiled from TypeScript', () => {
  it('runs a TypeScript entry with its relative imports and packages in a worker thread, no loader', async () => {
    const worker = new Worker(await threadScript(fixture('entry.ts')), { workerData: { name: 'Dariush' } });
    const [message] = await once(worker, 'message');
    expect(message).toBe('Salam, DARIUSH');
    await worker.terminate();
  });

  it('compiles each entry once per process, into a private file that imports packages by absolute URL', async () => {
    const a = await threadScript(fixture('entry.ts'));
    const b = await threadScript(fixture('entry.ts'));
    expect(a).toBe(b);
    expect(statSync(a).mode & 0o777).toBe(0o600);
    const code = readFileSync(a, 'utf8');
    expect(code).toMatch(/from "file:\/\/\/[^"]*\/node_modules\/liquidjs\//);
    expect(code).toContain('Salam'); // the helper is bundled, not imported
  });

  it('refuses a module that uses import.meta, naming the entry', async () => {
    await expect(threadScript(fixture('uses-import-meta.ts'))).rejects.toThrow(/uses-import-meta\.ts: a module it imports uses import\.meta/);
  });

  it('says which import it could not find', async () => {
    await expect(threadScript(new URL('../fixtures/threads/missing.ts', import.meta.url))).rejects.toThrow(/missing\.ts/);
  });
});
