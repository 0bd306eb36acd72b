import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

// A realistic contact list for the import benchmark: a store's customers, two fifths of them
// Iranian (Persian names and cities, Tehran time, toman), the rest European and American.
// Deterministic (seeded), so every run imports the same bytes. No field holds a comma, a quote or
// a newline: the file needs no CSV quoting, which lets the baselines split lines plainly. The
// quoted variant writes the same values with every field in double quotes (as some spreadsheet
// exports do), so the import's CSV-parser path is measured against the baseline's plain file.

/** The header of the generated file; city, plan and orders become custom attributes. */
export const CONTACTS_CSV_HEADER = 'email,first_name,last_name,locale,timezone,currency,phone,city,plan,orders';

interface Region {
  weight: number;
  locale: string;
  timezone: string;
  currency: string;
  phonePrefix: string;
  /** Digits after the prefix in a mobile number. */
  phoneDigits: number;
  /** [written name, transliteration for the address] */
  firstNames: [string, string][];
  lastNames: [string, string][];
  cities: string[];
}

const PERSIAN: Pick<Region, 'firstNames' | 'lastNames' | 'cities'> = {
  firstNames: [['علی', 'ali'], ['محمد', 'mohammad'], ['زهرا', 'zahra'], ['فاطمه', 'fatemeh'], ['رضا', 'reza'], ['مریم', 'maryam'], ['حسین', 'hossein'], ['سارا', 'sara'], ['امیر', 'amir'], ['نرگس', 'narges'], ['مهدی', 'mahdi'], ['نیلوفر', 'niloufar']],
  lastNames: [['احمدی', 'ahmadi'], ['محمدی', 'mohammadi'], ['حسینی', 'hosseini'], ['رضایی', 'rezaei'], ['کریمی', 'karimi'], ['موسوی', 'mousavi'], ['جعفری', 'jafari'], ['کاظمی', 'kazemi'], ['صادقی', 'sadeghi'], ['رحیمی', 'rahimi']],
  cities: ['تهران', 'اصفهان', 'شیراز', 'مشهد', 'تبریز', 'کرج', 'رشت'],
};
const LATIN_FIRST: [string, string][] = ['Anna', 'Lukas', 'Marie', 'Jonas', 'Emma', 'Noah', 'Sophie', 'Liam', 'Olivia', 'James', 'Camille', 'Hugo', 'Léa', 'Jürgen', 'Zoë'].map((n) => [n, latinKey(n)]);
const LATIN_LAST: [string, string][] = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Smith', 'Johnson', 'Brown', 'Martin', 'Bernard', 'Dubois', 'Taylor', 'Wilson', 'Weber', 'Lefèvre'].map((n) => [n, latinKey(n)]);
const latin = (cities: string[]) => ({ firstNames: LATIN_FIRST, lastNames: LATIN_LAST, cities });

const REGIONS: Region[] = [
  { weight: 40, locale: 'fa-IR', timezone: 'Asia/Tehran', currency: 'IRT', phonePrefix: '+989', phoneDigits: 9, ...PERSIAN },
  { weight: 20, locale: 'en-US', timezone: 'America/New_York', currency: 'USD', phonePrefix: '+1212', phoneDigits: 7, ...latin(['New York', 'Boston', 'Chicago', 'Austin']) },
  { weight: 15, locale: 'de-DE', timezone: 'Europe/Berlin', currency: 'EUR', phonePrefix: '+4917', phoneDigits: 9, ...latin(['Berlin', 'München', 'Köln', 'Hamburg']) },
  { weight: 10, locale: 'en-GB', timezone: 'Europe/London', currency: 'GBP', phonePrefix: '+447', phoneDigits: 9, ...latin(['London', 'Manchester', 'Leeds']) },
  { weight: 5, locale: 'fr-FR', timezone: 'Europe/Paris', currency: 'EUR', phonePrefix: '+336', phoneDigits: 8, ...latin(['Paris', 'Lyon', 'Marseille']) },
  // People who left everything but the address empty.
  { weight: 10, locale: '', timezone: '', currency: '', phonePrefix: '', phoneDigits: 0, ...latin([]) },
];

// A few dozen mailbox providers, one internationalised (its address goes through punycode checks).
const DOMAINS = [
  'gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'proton.me', 'aol.com', 'zoho.com',
  'fastmail.com', 'gmx.de', 'web.de', 't-online.de', 'posteo.de', 'orange.fr', 'free.fr', 'laposte.net',
  'yahoo.co.uk', 'btinternet.com', 'sky.com', 'comcast.net', 'verizon.net', 'att.net', 'mail.ru', 'yandex.ru',
  'chmail.ir', 'yahoo.ir', 'parsimail.ir', 'shop-customers.ir', 'example-store.com', 'uni-tehran.ac.ir',
  'company.co', 'bücher.de',
];
// Gmail and Yahoo hold most addresses in practice.
const DOMAIN_WEIGHTS = DOMAINS.map((_, i) => (i === 0 ? 30 : i === 1 ? 8 : i === 24 ? 6 : 1));
const PLANS = ['free', 'free', 'free', 'basic', 'basic', 'pro', 'enterprise'];
const SEPARATORS = ['.', '_', ''];

/** Writes `rows` contacts (plus the header) to `path`, streaming in chunks; returns the byte size. */
export async function generateContactsCsv(path: string, rows: number, seed = 20261127, opts: { quoted?: boolean } = {}): Promise<number> {
  const join = opts.quoted ? (fields: string[]) => `"${fields.join('","')}"` : (fields: string[]) => fields.join(',');
  const out = createWriteStream(path);
  const rand = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const pickRegion = weighted(REGIONS.map((r) => r.weight), rand);
  const pickDomain = weighted(DOMAIN_WEIGHTS, rand);
  let bytes = 0;
  let lines: string[] = [join(CONTACTS_CSV_HEADER.split(','))];
  for (let i = 1; i <= rows; i++) {
    const region = REGIONS[pickRegion()]!;
    const [first, firstKey] = pick(region.firstNames);
    const [last, lastKey] = pick(region.lastNames);
    let local = `${firstKey}${pick(SEPARATORS)}${lastKey}${i}`;
    if (rand() < 0.1) local = local[0]!.toUpperCase() + local.slice(1);
    const hasLast = rand() >= 0.05;
    const phone = region.phonePrefix && rand() < 0.6 ? region.phonePrefix + String(Math.floor(rand() * 10 ** region.phoneDigits)).padStart(region.phoneDigits, '0') : '';
    const city = region.cities.length > 0 && rand() < 0.9 ? pick(region.cities) : '';
    lines.push(
      join([
        `${local}@${DOMAINS[pickDomain()]}`,
        region.locale ? first : '',
        region.locale && hasLast ? last : '',
        region.locale,
        region.timezone,
        region.currency,
        phone,
        city,
        pick(PLANS),
        String(Math.floor(rand() * rand() * 250)),
      ]),
    );
    if (lines.length >= 5000 || i === rows) {
      const chunk = `${lines.join('\n')}\n`;
      lines = [];
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }
  if (lines.length > 0) {
    const chunk = `${lines.join('\n')}\n`;
    bytes += Buffer.byteLength(chunk);
    out.write(chunk);
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}

function latinKey(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
}

// A small, fast seeded generator (mulberry32): the same seed gives the same file everywhere.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted(weights: readonly number[], rand: () => number): () => number {
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = weights.map(((sum) => (w: number) => (sum += w / total))(0));
  return () => {
    const r = rand();
    const i = cumulative.findIndex((c) => r < c);
    return i < 0 ? weights.length - 1 : i;
  };
}
