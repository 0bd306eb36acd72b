// npm run bench:render [-- --contacts N]
// Renders one MJML starter template for N contacts (default 100,000): personalised subject and
// preheader, HTML with every link signed and UTM-tagged plus the open pixel, and the text part.
// Baseline, same run: the same Liquid render of the already-compiled HTML, no link rewriting.
// Also shows MJML compile time (once per template version) and what building the MIME adds.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createKeyring } from '../src/lib/secrets.ts';
import { compileVariant } from '../src/templates/compile.ts';
import { buildMime, composeMessage, type PreparedVariant, type StoreProfile } from '../src/templates/compose.ts';
import { createLiquid, renderParsed } from '../src/templates/liquid.ts';
import { TrackingUrls } from '../src/templates/tracking-urls.ts';
import { loadStarterBody, STARTER_TEMPLATES } from '../src/templates/starters/catalog.ts';
import { sampleContext } from '../src/services/template-samples.ts';

const arg = process.argv.indexOf('--contacts');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 100_000;
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

async function time(label: string, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 500; i++) await fn(i); // warm up
  const start = performance.now();
  for (let i = 0; i < N; i++) await fn(i);
  const secs = (performance.now() - start) / 1000;
  const rate = N / secs;
  console.log(`${label.padEnd(58)} ${secs.toFixed(2).padStart(7)} s ${Math.round(rate).toLocaleString('en').padStart(9)} msg/s`);
  return rate;
}

console.log(`bench:render  ${new Date().toISOString()}  node ${process.version}  ${cpus()[0]?.model} × ${cpus().length}`);
console.log(`template ${KEY} (en), ${N.toLocaleString('en')} contacts; MJML compiled once in ${compileMs.toFixed(0)} ms (${compiled.value.html.length.toLocaleString('en')} bytes of HTML)\n`);

const baseline = await time('baseline: Liquid render of compiled HTML only', (i) =>
  renderParsed(liquid, variant.html, { ...context, contact: contact(i), store: { name: store.name, url: store.url, address: store.address }, ...links, preheader: '' }, format),
);
const template = { key: KEY, kind: 'marketing' as const, topicKey: 'newsletter', trackOpens: true, trackClicks: true, utm: { source: 'chapar', medium: 'email', campaign: KEY } };
let ref = 0;
const full = await time('full composition: subject, preheader, HTML, signed links, text', (i) =>
  composeMessage({ liquid, urls }, store, { template, variant, recipient: { contactId: i, email: `customer${i}@example.com`, contact: contact(i), format }, context, messageRef: `m${(ref++).toString(36).padStart(10, '0')}`, streamId: 'bench' }),
);
const mime = await time('full composition + MIME build (for reference)', async (i) => {
  const m = await composeMessage({ liquid, urls }, store, { template, variant, recipient: { contactId: i, email: `customer${i}@example.com`, contact: contact(i), format }, context, messageRef: `m${(ref++).toString(36).padStart(10, '0')}`, streamId: 'bench' });
  return buildMime(m, Date.now());
});
console.log(`\nfull composition / baseline = ${((full / baseline) * 100).toFixed(0)}%  (goal ≥ 50%: ${full / baseline >= 0.5 ? 'met' : 'NOT met'})`);
console.log(`with MIME build / baseline  = ${((mime / baseline) * 100).toFixed(0)}%`);
console.log(`MJML compiles per run: 1 (per template version), never per recipient`);
