import { BlockList, isIPv4, isIPv6 } from 'node:net';

// Opens and clicks that no person made. Apple Mail Privacy Protection fetches every image of every
// message through Apple's proxy when it arrives, so its "opens" say nothing about reading; link
// scanners at mail gateways (Microsoft Defender, Mimecast, Proofpoint, Barracuda…) follow every
// link before the reader sees the mail. Both are kept, flagged, so KPIs can leave them out.

/** What kind of machine made a hit. */
export type MachineKind = 'apple_mpp' | 'scanner';

export interface MachineRules {
  /** Ranges whose opens are Apple's proxy (Apple owns 17.0.0.0/8). */
  appleRanges: readonly string[];
  /** Ranges of known scanners (mail gateways); operators add their own. */
  scannerRanges: readonly string[];
  /** A click this soon after the send is a gateway's scanner: nobody reads and clicks that fast. */
  scannerClickWithinMs: number;
  /** An open this soon after the send is a prefetch (Apple's proxy, a gateway), not a reader. */
  prefetchOpenWithinMs: number;
}

export const DEFAULT_MACHINE_RULES: MachineRules = {
  appleRanges: ['17.0.0.0/8'],
  scannerRanges: [],
  scannerClickWithinMs: 10_000,
  prefetchOpenWithinMs: 2_000,
};

// User agents of scanners, security gateways and HTTP libraries (a person's mail reader is none of these).
const SCANNER_AGENT = /bot\b|crawler|spider|scan|barracuda|mimecast|proofpoint|symantec|messagelabs|trend ?micro|forcepoint|fireeye|sophos|cisco|ironport|safelinks|defender|zscaler|checkpoint|python-requests|python-urllib|go-http-client|curl\/|wget\/|java\/|okhttp|axios|node-fetch|libwww|httpclient|headlesschrome|phantomjs|slackbot|facebookexternalhit|skypeuripreview/i;

/** A compiled rule set (ranges parsed once). */
export class MachineDetector {
  private readonly apple: RangeSet;
  private readonly scanners: RangeSet;

  constructor(private readonly rules: MachineRules = DEFAULT_MACHINE_RULES) {
    this.apple = new RangeSet(rules.appleRanges);
    this.scanners = new RangeSet(rules.scannerRanges);
  }

  /** Which machine made an open or click, or null when it looks like a person. */
  detect(hit: { kind: 'opened' | 'clicked'; ip: string | null; userAgent: string | null; msSinceSend: number | null }): MachineKind | null {
    const ua = hit.userAgent?.trim() ?? '';
    const ip = hit.ip ?? '';
    if (ip && this.scanners.has(ip)) return 'scanner';
    if (ua && SCANNER_AGENT.test(ua)) return 'scanner';
    if (hit.kind === 'opened') {
      // Apple's proxy presents a bare "Mozilla/5.0"; a real client always adds its platform.
      if (ua === 'Mozilla/5.0' || (ip && this.apple.has(ip))) return 'apple_mpp';
      if (hit.msSinceSend !== null && hit.msSinceSend >= 0 && hit.msSinceSend < this.rules.prefetchOpenWithinMs) return 'scanner';
      return null;
    }
    if (hit.msSinceSend !== null && hit.msSinceSend >= 0 && hit.msSinceSend < this.rules.scannerClickWithinMs) return 'scanner';
    if (!ua) return 'scanner';
    return null;
  }
}


/** Parses `a.b.c.d/n` or an IPv6 CIDR; throws naming the range when it is not one. */
export function parseRange(range: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits = ''] = range.trim().split('/');
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  const prefix = Number(bits);
  if (!family || !/^\d{1,3}$/.test(bits) || prefix > (family === 'ipv4' ? 32 : 128)) {
    throw new Error(`"${range}" is not an IP range such as 192.0.2.0/24 or 2001:db8::/32`);
  }
  return { address, prefix, family };
}

/**
 * IP ranges to test addresses against. IPv4 ranges are checked as integers: every open and click
 * is tested, and net.BlockList builds a SocketAddress per check (1.4% of the server's time in
 * bench:events). IPv6 goes to BlockList.
 */
class RangeSet {
  private readonly v4: { base: number; mask: number }[] = [];
  private readonly v6 = new BlockList();
  private hasV6 = false;

  constructor(ranges: readonly string[]) {
    for (const range of ranges) {
      const r = parseRange(range);
      if (r.family === 'ipv4') {
        const mask = r.prefix === 0 ? 0 : (0xffffffff << (32 - r.prefix)) >>> 0;
        this.v4.push({ base: (ipv4ToInt(r.address)! & mask) >>> 0, mask });
      } else {
        this.v6.addSubnet(r.address, r.prefix, 'ipv6');
        this.hasV6 = true;
      }
    }
  }

  has(ip: string): boolean {
    // No ranges (the scanners' list by default): nothing to parse.
    if (this.v4.length === 0 && !this.hasV6) return false;
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    const n = ipv4ToInt(plain);
    if (n !== null) {
      for (const r of this.v4) if (((n & r.mask) >>> 0) === r.base) return true;
      return false;
    }
    return this.hasV6 && isIPv6(ip) && this.v6.check(ip, 'ipv6');
  }
}

/** A dotted-quad address as an unsigned integer, or null when it is not one. */
function ipv4ToInt(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

// Made last: the class above needs RangeSet, which is defined after it.
const defaultDetector = new MachineDetector();

/** `MachineDetector.detect` with the default rules. */
export function detectMachine(hit: { kind: 'opened' | 'clicked'; ip: string | null; userAgent: string | null; msSinceSend: number | null }): MachineKind | null {
  return defaultDetector.detect(hit);
}
