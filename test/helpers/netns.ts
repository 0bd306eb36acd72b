import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/**
 * A network namespace with its own loopback and its own /etc/resolv.conf (ip netns bind-mounts
 * /etc/netns/<name>/resolv.conf), running our DNS server for a given zone: tools that read the
 * system resolver (OpenDKIM) then query our zone without touching the machine's DNS. Needs root.
 */
export interface DnsSandbox {
  /** Runs a command inside the namespace, with the given stdin. */
  run(cmd: string[], input?: Buffer): { status: number | null; stdout: string; stderr: string };
  close(): void;
}

/** True when this process may create network namespaces (root, with iproute2). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['netns', 'list']).status === 0;
}

export async function startDnsSandbox(zone: Record<string, string>): Promise<DnsSandbox> {
  const name = `chapar-${randomBytes(4).toString('hex')}`;
  const etc = join('/etc/netns', name);
  const sh = (args: string[]) => {
    const r = spawnSync(args[0]!, args.slice(1));
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  };
  sh(['ip', 'netns', 'add', name]);
  sh(['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
  // Not under /etc/netns: ip netns exec bind-mounts every file there over /etc.
  const zoneFile = join(tmpdir(), `${name}-zone.json`);
  writeFileSync(zoneFile, JSON.stringify(Object.fromEntries(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]))));
  const server: ChildProcess = spawn('ip', ['netns', 'exec', name, process.execPath, join(import.meta.dirname, 'dns-server.mjs'), zoneFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    server.on('exit', (code) => reject(new Error(`DNS server exited with ${code}`)));
  });
  return {
    run(cmd, input) {
      const r = spawnSync('ip', ['netns', 'exec', name, ...cmd], { input, timeout: 30_000 });
      return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    close() {
      server.removeAllListeners('exit');
      server.kill();
      spawnSync('ip', ['netns', 'del', name]);
      rmSync(etc, { recursive: true, force: true });
      rmSync(zoneFile, { force: true });
    },
  };
}
