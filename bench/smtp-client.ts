// The SMTP transport alone: pre-built ~20 KB signed-looking messages to Postfix's smtp-sink on
// loopback over 16 connections, through nodemailer's pool (the baseline, used directly) and through
// createSmtpTransport (src/adapters/transports/smtp.ts), in the same run, taking turns.
// Prints msg/s and this process's CPU seconds (process.cpuUsage; smtp-sink's own CPU is not in it).
//   node bin/run-ts.js bench/smtp-client.ts [--messages 20000] [--rounds 2] [--in-flight 64]
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { createSmtpTransport } from '../src/adapters/transports/smtp.ts';
import type { OutgoingMail } from '../src/ports/mail-transport.ts';

const argOf = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = argOf('--messages', 20_000);
const ROUNDS = argOf('--rounds', 2);
const IN_FLIGHT = argOf('--in-flight', 64);
const CONNECTIONS = 16;
const PER_CONNECTION = 1000;
const DISTINCT = 500; // 500 distinct messages sent in turn: 20,000 × 20 KB would hold 400 MB
const PORT = 20000 + Math.floor(Math.random() * 20000);

/** A message shaped like Chapar's output: DKIM header, CRLF, QP HTML with CSS lines starting with a dot. */
function buildMessage(i: number): Buffer {
  const head = [
    `DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=s1; t=1764230400;`,
    ` h=from:to:subject:date:message-id:mime-version:content-type;`,
    ` bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;`,
    ` b=${'A'.repeat(64)}`,
    ` ${'B'.repeat(64)}`,
    ` ${'C'.repeat(64)}`,
    ` ${'D'.repeat(150)}`,
    'From: Shop <news@shop.example>',
    `To: <customer${i}@example.com>`,
    `Subject: Your offers this week, customer ${i}`,
    'Date: Fri, 27 Nov 2026 08:00:00 +0000',
    `Message-ID: <${i}.bench@shop.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<html><head><style>',
    '.button { color: #fff; background: #c33; }',
    '.footer { font-size: 11px; }',
    '</style></head><body>',
  ];
  const lines = [...head];
  let size = head.join('\r\n').length;
  for (let n = 0; size < 20_000; n++) {
    const line = `<p>Hello customer ${i}, thank you for shopping with us. Item ${n} is back in stock=\r\n at a lower price than last week.</p>`;
    lines.push(line);
    size += line.length + 2;
  }
  lines.push('</body></html>', '');
  return Buffer.from(lines.join('\r\n'));
}

function startSink() {
  // As root smtp-sink must drop privileges (-u); backlog 256.
  return spawn('/usr/sbin/smtp-sink', ['-u', 'nobody', '-m', '256', `127.0.0.1:${PORT}`, '256'], { stdio: 'ignore' });
}

type Send = (i: number) => Promise<boolean>;

// n messages, IN_FLIGHT at a time; returns wall seconds and CPU seconds of this process.
async function run(send: Send, n: number): Promise<{ secs: number; cpu: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) {
        if (!(await send(next++))) failed++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { secs, cpu: (cpu.user + cpu.system) / 1e6, failed };
}

const messages = Array.from({ length: DISTINCT }, (_, i) => buildMessage(i));
const envelopeOf = (i: number) => ({ from: `bounce+${i}@bounces.shop.example`, to: `customer${i % DISTINCT}@example.com` });

function nodemailerSender() {
  const mailer = nodemailer.createTransport({ pool: true, maxConnections: CONNECTIONS, maxMessages: PER_CONNECTION, host: '127.0.0.1', port: PORT, ignoreTLS: true, name: 'bench.shop.example' });
  mailer.on('error', () => {});
  const send: Send = async (i) => {
    const env = envelopeOf(i);
    try {
      await mailer.sendMail({ envelope: { from: env.from, to: [env.to] }, raw: messages[i % DISTINCT]! });
      return true;
    } catch {
      return false;
    }
  };
  return { send, close: async () => mailer.close() };
}

function chaparSender() {
  const t = createSmtpTransport({ host: '127.0.0.1', port: PORT, secure: false, starttls: 'opportunistic', name: 'bench.shop.example', maxConnections: CONNECTIONS, maxMessagesPerConnection: PER_CONNECTION });
  const send: Send = async (i) => {
    const mail = { messageRef: String(i), envelope: envelopeOf(i), raw: messages[i % DISTINCT]!, stream: 'marketing', parts: {} as never, tags: {} } satisfies OutgoingMail;
    return (await t.send(mail)).status === 'sent';
  };
  return { send, close: () => t.close() };
}

const senders = { 'nodemailer pool (baseline)': nodemailerSender, 'chapar smtp transport': chaparSender };
type Name = keyof typeof senders;

console.log(`bench smtp-client  ${new Date().toISOString()}  node ${process.version}  ${cpus()[0]?.model} × ${cpus().length}  load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`${N.toLocaleString('en')} messages of ${messages[0]!.length.toLocaleString('en')} bytes per round, ${CONNECTIONS} connections, ${IN_FLIGHT} in flight, ${ROUNDS} rounds taking turns\n`);
const sink = startSink();
await new Promise((r) => setTimeout(r, 500));
const totals = new Map<Name, { secs: number; cpu: number }>();
try {
  // Warm-up: JIT and connections for both, not counted.
  for (const name of Object.keys(senders) as Name[]) {
    const s = senders[name]();
    await run(s.send, 1000);
    await s.close();
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = (Object.keys(senders) as Name[])[round % 2 === 0 ? 'slice' : 'reverse']();
    for (const name of order) {
      const s = senders[name]();
      const r = await run(s.send, N);
      await s.close();
      if (r.failed > 0) throw new Error(`${name}: ${r.failed} messages not sent`);
      const t = totals.get(name) ?? { secs: 0, cpu: 0 };
      totals.set(name, { secs: t.secs + r.secs, cpu: t.cpu + r.cpu });
      console.log(`round ${round + 1}  ${name.padEnd(28)} ${r.secs.toFixed(2).padStart(6)} s ${Math.round(N / r.secs).toLocaleString('en').padStart(7)} msg/s  CPU ${r.cpu.toFixed(2).padStart(6)} s  ${((r.cpu / N) * 1000).toFixed(3)} ms/msg`);
    }
  }
  console.log('');
  for (const [name, t] of totals) {
    console.log(`all    ${name.padEnd(28)} ${t.secs.toFixed(2).padStart(6)} s ${Math.round((N * ROUNDS) / t.secs).toLocaleString('en').padStart(7)} msg/s  CPU ${t.cpu.toFixed(2).padStart(6)} s  ${((t.cpu / (N * ROUNDS)) * 1000).toFixed(3)} ms/msg`);
  }
  const base = totals.get('nodemailer pool (baseline)')!;
  const ours = totals.get('chapar smtp transport')!;
  console.log(`\nchapar / nodemailer: ${(base.secs / ours.secs).toFixed(2)}× the rate, ${(ours.cpu / base.cpu).toFixed(2)}× the CPU per message`);
  console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  sink.kill();
}
