// npm run bench:render [-- --contacts N]
// Renders one MJML starter template for N contacts (default 100,000): personalised subject and
// preheader, HTML with every link signed and UTM-tagged plus the open pixel, and the text part.
// Baseline, same run: the same Liquid render of the already-compiled HTML, no link rewriting.
// Also shows MJML compile time (once per template version) and what building the MIME message
// adds: with Chapar's writer (src/templates/mime.ts) and, for reference on a tenth of the
// contacts, with nodemailer's MailComposer, which it replaced.
//
// The machine is shared, so its load drifts during a run. The variants therefore take turns in
// ten rounds over the contacts (each round: a tenth of them through every variant), so a busy
// minute slows all of them alike; each variant's time is the sum of its rounds. Wall-clock rates
// decide the goal; the CPU time this process used is shown beside them.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import MailComposer from 'nodemailer/lib/mail-composer';
import { createKeyring } from '../src/lib/secrets.ts';
import { loadAverage, stealMeter, stealText } from './machine-info.ts';
import { compileVariant } from '../src/templates/compile.ts';
import { buildMime, composeMessage, type ComposedMessage, type PreparedVariant, type StoreProfile } from '../src/templates/compose.ts';
import { createLiquid, renderParsed } from '../src/templates/liquid.ts';
import { TrackingUrls } from '../src/templates/tracking-urls.ts';
import { loadStarterBody, STARTER_TEMPLATES } from '../src/templates/starters/catalog.ts';
import { sampleContext } from '../src/services/template-samples.ts';

const arg = process.argv.indexOf('--contacts');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 100_000;
const ROUNDS = 10;
const KEY = 'abandoned-cart-1';

const store: StoreProfile = {
  name: 'Kaveh Shop', url: 'https://shop.example', address: 'Kaveh Shop, 12 Vali-e Asr St, Tehran, Iran', logoUrl: 'https://shop.example/logo.png',
  supportEmail: 'help@shop.example', defaultLocale: 'en', defaultCurrency: 'USD', defaultTimezone: 'UTC', sendingDomain: 'shop.example', bounceDomain: 'b.shop.example', feedbackSenderId: 'kaveh',
};
const starter = STARTER_TEMPLATES.find((t) => t.key === KEY)!;
const liquid = createLiquid();
const urls = new TrackingUrls('https://mail.shop.example', createKeyring(Buffer.alloc(32, 9)));

const t0 = performance.now();
const compiled = await compileVariant({ subject: starter.locales.en.subject, preheader: starter.locales.en.preheader, bodyType: 'mjml', body: loadStarterBody(KEY, 'en'), textBody: null }, 'ltr', 'en');
const compileMs = performance.now() - t0;
if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
const variant: PreparedVariant = {
  locale: 'en', fromName: 'Kaveh Shop', fromEmail: 'hello@shop.example', replyTo: null,
  subject: liquid.parse(starter.locales.en.subject), preheader: liquid.parse(starter.locales.en.preheader),
  html: liquid.parse(compiled.value.html), text: null,
};
const context = sampleContext('en', 'USD', Date.now(), store.url);
const contact = (i: number) => ({ id: i, email: `customer${i}@example.com`, first_name: `Name${i}`, last_name: 'Doe', locale: 'en', currency: 'USD', attributes: {} });
const format = { locale: 'en-US', currency: 'USD', timezone: 'America/New_York' };
const links = { unsubscribe_url: 'https://mail.shop.example/u/x', preferences_url: 'https://mail.shop.example/p/x', view_in_browser_url: 'https://mail.shop.example/v/x' };
const template = { key: KEY, kind: 'marketing' as const, topicKey: 'newsletter', trackOpens: true, trackClicks: true, utm: { source: 'chapar', medium: 'email', campaign: KEY } };
let ref = 0;
const compose = (i: number) =>
  composeMessage({ liquid, urls }, store, { template, variant, recipient: { contactId: i, email: `customer${i}@example.com`, contact: contact(i), format }, context, messageRef: `m${(ref++).toString(36).padStart(10, '0')}`, streamId: 'bench' });

/** What the MIME build cost before src/templates/mime.ts: the same message through nodemailer's composer. */
function nodemailerMime(m: ComposedMessage, now: number): Promise<Buffer> {
  return new MailComposer({
    from: m.from, to: m.to, subject: m.subject, text: m.text, html: m.html, date: new Date(now), messageId: m.messageId, envelope: m.envelope,
    textEncoding: 'quoted-printable', headers: Object.fromEntries(m.headers.map(([k, v]) => [k, { prepared: true, value: v }])), disableFileAccess: true, disableUrlAccess: true,
  }).compile().build();
}

interface Variant {
  label: string;
  /** The share of the contacts it runs (the slow reference runs a tenth). */
  share: number;
  run: (i: number) => unknown;
  wallMs: number;
  cpuUs: number;
  done: number;
}
const variants: Variant[] = ([
  { label: 'baseline: Liquid render of compiled HTML only', share: 1, run: (i) => renderParsed(liquid, variant.html, { ...context, contact: contact(i), store: { name: store.name, url: store.url, address: store.address }, ...links, preheader: '' }, format) },
  { label: 'full composition: subject, preheader, HTML, signed links, text', share: 1, run: compose },
  { label: 'full composition + MIME build (src/templates/mime.ts)', share: 1, run: async (i) => buildMime(await compose(i), Date.now()) },
  { label: 'full composition + MIME build (nodemailer MailComposer)', share: 0.1, run: async (i) => nodemailerMime(await compose(i), Date.now()) },
] satisfies Pick<Variant, 'label' | 'share' | 'run'>[]).map((v) => ({ ...v, wallMs: 0, cpuUs: 0, done: 0 }));

const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

console.log(`bench:render  ${new Date().toISOString()}  node ${process.version}  ${cpus()[0]?.model} × ${cpus().length}  load ${loadAverage()}`);
console.log(`template ${KEY} (en), ${N.toLocaleString('en')} contacts in ${ROUNDS} rounds; MJML compiled once in ${compileMs.toFixed(0)} ms (${compiled.value.html.length.toLocaleString('en')} bytes of HTML)\n`);

for (const v of variants) for (let i = 0; i < 500; i++) await v.run(i); // warm up
const steal = stealMeter();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const count = Math.round((N * v.share) / ROUNDS);
    const from = round * count;
    const wall = performance.now();
    const cpu = cpuNow();
    for (let i = from; i < from + count; i++) await v.run(i);
    v.wallMs += performance.now() - wall;
    v.cpuUs += cpuNow() - cpu;
    v.done += count;
  }
}

const stealAll = steal();
const rate = (v: Variant) => v.done / (v.wallMs / 1000);
const cpuRate = (v: Variant) => v.done / (v.cpuUs / 1e6);
const [baseline, full, mime, nodemailer] = variants as [Variant, Variant, Variant, Variant];
console.log(`${'what'.padEnd(64)} ${'messages'.padStart(9)} ${'wall s'.padStart(8)} ${'msg/s'.padStart(8)} ${'vs base'.padStart(8)} ${'CPU s'.padStart(7)} ${'msg/CPU s'.padStart(10)}`);
for (const v of variants) {
  console.log(
    `${v.label.padEnd(64)} ${v.done.toLocaleString('en').padStart(9)} ${(v.wallMs / 1000).toFixed(2).padStart(8)} ${Math.round(rate(v)).toLocaleString('en').padStart(8)} ${`${((rate(v) / rate(baseline)) * 100).toFixed(0)}%`.padStart(8)} ${(v.cpuUs / 1e6).toFixed(2).padStart(7)} ${Math.round(cpuRate(v)).toLocaleString('en').padStart(10)}`,
  );
}
const ratio = rate(full) / rate(baseline);
console.log(`\nfull composition / baseline = ${(ratio * 100).toFixed(0)}% wall-clock, ${((cpuRate(full) / cpuRate(baseline)) * 100).toFixed(0)}% by CPU time  (goal ≥ 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
console.log(`with MIME build / baseline  = ${((rate(mime) / rate(baseline)) * 100).toFixed(0)}% (mime.ts), ${((rate(nodemailer) / rate(baseline)) * 100).toFixed(0)}% (nodemailer)`);
console.log(`MIME build alone ≈ ${(1e6 / rate(mime) - 1e6 / rate(full)).toFixed(0)} µs a message with mime.ts, ${(1e6 / rate(nodemailer) - 1e6 / rate(full)).toFixed(0)} µs with nodemailer`);
console.log(`MJML compiles per run: 1 (per template version), never per recipient;  load at the end ${loadAverage()}  ${stealText(stealAll)} of the CPU during the rounds`);
