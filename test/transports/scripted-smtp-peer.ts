import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer } from 'node:net';

/**
 * A small SMTP server on loopback written over raw TCP, for what smtp-server cannot show: the exact
 * bytes on the wire (dot-stuffing), the order in which commands arrive (pipelining), multi-line
 * replies, and replies split across TCP segments. Every line both ways is kept in a transcript.
 */
export interface ScriptedPeerOptions {
  /** The EHLO keywords offered, e.g. ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 1000']. */
  extensions?: string[];
  /** `unknown`: 502 to EHLO (an old server), HELO works. */
  ehlo?: 'ok' | 'unknown';
  /** The greeting's lines, default `220 scripted.test ESMTP`. */
  greeting?: string[];
  /**
   * The reply to a command (lines with their codes), `drop` to close the connection without a
   * word, `silence` to never answer, or undefined for the usual answer.
   */
  answer?: (command: string, session: ScriptedSession) => string[] | 'drop' | 'silence' | undefined;
  /** The reply to the message after its final dot; default `250 2.0.0 Ok: queued as Q<n>`. */
  afterData?: (session: ScriptedSession) => string[] | 'drop';
  /** Writes each reply in two TCP writes, split in the middle of a line. */
  splitReplies?: boolean;
}

export interface ScriptedSession {
  id: number;
  /** `C: …` for what the client sent (one entry per line; a message is one `C: <message N bytes>`), `S: …` for replies. */
  transcript: string[];
  /** Each message as it crossed the wire between 354 and the final dot, dot-stuffed, final dot included. */
  wire: Buffer[];
  /** Each message as the server reads it (the dots unstuffed, without the final `.\r\n`). */
  messages: Buffer[];
  /** Commands that arrived while a reply to an earlier one was still owed, from a server without PIPELINING. */
  earlyCommands: number;
}

export interface ScriptedPeer {
  port: number;
  sessions: ScriptedSession[];
  close(): Promise<void>;
}

const TERMINATOR = Buffer.from('\r\n.\r\n');

function ehloReply(extensions: string[]): string[] {
  const all = ['scripted.test', ...extensions];
  return all.map((text, i) => `250${i === all.length - 1 ? ' ' : '-'}${text}`);
}

export async function startScriptedPeer(options: ScriptedPeerOptions = {}): Promise<ScriptedPeer> {
  const sessions: ScriptedSession[] = [];
  const sockets = new Set<Socket>();
  const offersPipelining = options.ehlo !== 'unknown' && (options.extensions ?? []).includes('PIPELINING');
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const s: ScriptedSession = { id: sessions.length + 1, transcript: [], wire: [], messages: [], earlyCommands: 0 };
    sessions.push(s);
    let buf = Buffer.alloc(0);
    let inData = false;
    let owed = 0;
    // PIPELINING is on once the EHLO reply offered it (never after HELO).
    let pipelining = false;
    // Split replies go out one piece per turn of the event loop, in order.
    const pieces: string[] = [];
    const pump = () => {
      const piece = pieces.shift();
      if (piece === undefined) return;
      if (socket.writable) socket.write(piece);
      if (pieces.length > 0) setImmediate(pump);
    };
    // With PIPELINING the replies to MAIL and RCPT wait until DATA came: a client that waits for
    // them before sending the next command never gets them.
    let held: string[][] = [];
    let mailOk = false;
    let recipients = 0;

    const reply = (lines: string[] | 'drop') => {
      if (lines === 'drop') {
        socket.destroy();
        return;
      }
      for (const l of lines) s.transcript.push(`S: ${l}`);
      const text = lines.map((l) => `${l}\r\n`).join('');
      if (options.splitReplies && text.length > 2) {
        const half = Math.floor(text.length / 2);
        if (pieces.length === 0) setImmediate(pump);
        pieces.push(text.slice(0, half), text.slice(half));
      } else {
        socket.write(text);
      }
    };
    // Without PIPELINING each reply goes out a turn later, so a command sent before it is seen.
    const answerLater = (lines: string[] | 'drop') => {
      owed++;
      setImmediate(() => {
        owed--;
        if (!socket.destroyed) reply(lines);
      });
    };

    const onCommand = (line: string) => {
      s.transcript.push(`C: ${line}`);
      if (!pipelining && owed > 0) s.earlyCommands++;
      const verb = line.split(' ')[0]!.toUpperCase();
      const custom = options.answer?.(line, s);
      if (custom === 'silence') return;
      let lines: string[] | 'drop';
      if (custom !== undefined) lines = custom;
      else if (verb === 'EHLO') lines = options.ehlo === 'unknown' ? ['502 5.5.1 EHLO not implemented'] : ehloReply(options.extensions ?? []);
      else if (verb === 'HELO') lines = ['250 scripted.test'];
      else if (verb === 'MAIL' || verb === 'RSET') lines = ['250 2.1.0 Ok'];
      else if (verb === 'RCPT') lines = mailOk ? ['250 2.1.5 Ok'] : ['503 5.5.1 Error: need MAIL command'];
      else if (verb === 'DATA') lines = recipients > 0 ? ['354 End data with <CR><LF>.<CR><LF>'] : ['554 5.5.1 Error: no valid recipients'];
      else if (verb === 'QUIT') lines = ['221 2.0.0 Bye'];
      else lines = ['502 5.5.2 Error: command not recognized'];
      const ok = lines !== 'drop' && /^[23]/.test(lines[0]!);
      if (verb === 'MAIL') mailOk = ok;
      if (verb === 'RCPT' && ok) recipients++;
      if (verb === 'RSET' || verb === 'EHLO' || verb === 'HELO') (mailOk = false), (recipients = 0);
      if (verb === 'EHLO' || verb === 'HELO') pipelining = verb === 'EHLO' && ok && offersPipelining;
      if (verb === 'DATA' && lines !== 'drop' && lines[0]!.startsWith('354')) inData = true;
      if (pipelining && (verb === 'MAIL' || verb === 'RCPT')) {
        if (lines === 'drop') return reply('drop');
        held.push(lines);
        return;
      }
      if (pipelining) {
        for (const h of held) reply(h);
        held = [];
        reply(lines);
      } else {
        answerLater(lines);
      }
      if (verb === 'QUIT') socket.end();
    };

    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          const end = buf.subarray(0, 3).equals(Buffer.from('.\r\n')) ? 0 : buf.indexOf(TERMINATOR);
          if (end === -1) return;
          const stop = end === 0 ? 3 : end + TERMINATOR.length;
          const wire = Buffer.from(buf.subarray(0, stop));
          buf = buf.subarray(stop);
          inData = false;
          mailOk = false;
          recipients = 0;
          s.wire.push(wire);
          const content = wire.subarray(0, end === 0 ? 0 : end + 2).toString('latin1').replace(/(^|\n)\./g, '$1');
          s.messages.push(Buffer.from(content, 'latin1'));
          s.transcript.push(`C: <message ${wire.length} bytes>`);
          reply(options.afterData?.(s) ?? [`250 2.0.0 Ok: queued as Q${s.id}x${s.messages.length}`]);
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl === -1) return;
        const line = buf.subarray(0, nl).toString('utf8');
        buf = buf.subarray(nl + 2);
        onCommand(line);
        if (socket.destroyed) return;
      }
    });
    reply(options.greeting ?? ['220 scripted.test ESMTP']);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
