import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake provider received it, bytes untouched. */
export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Header names and values in wire order (names as sent), for signature checks. */
  rawHeaders: string[];
  body: Buffer;
}

/** What a fake provider answers: a reply, or nothing at all (a stalled provider). */
export type FakeReply = { status: number; headers?: Record<string, string>; body?: string } | 'stall';

/** A real HTTP server on 127.0.0.1 that hands every request to `answer` and records it. */
export interface FakeHttpServer {
  /** e.g. http://127.0.0.1:43121 */
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a loopback HTTP server; stalled requests are dropped when it closes. */
export async function startFakeHttpServer(answer: (req: ReceivedRequest) => FakeReply): Promise<FakeHttpServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) };
      requests.push(received);
      reply(res, answer(received));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function reply(res: ServerResponse, r: FakeReply): void {
  if (r === 'stall') return;
  res.writeHead(r.status, r.headers ?? {});
  res.end(r.body ?? '');
}

/** The failure answers every fake can give, named by what the provider would be going through. */
export type FakeMode = 'ok' | 'bad-request' | 'unauthorized' | 'throttled' | 'throttled-until' | 'server-error' | 'unavailable' | 'stall';

/** A loopback URL where nothing listens: a port the system just handed out and then freed. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
