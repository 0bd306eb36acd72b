import { describe, expect, it } from 'vitest';
import { MachineDetector, parseRange } from './machine-hits.ts';

describe('telling machines from readers', () => {
  const d = new MachineDetector({ appleRanges: ['17.0.0.0/8'], scannerRanges: ['203.0.113.0/24', '2001:db8:5::/48'], scannerClickWithinMs: 10_000, prefetchOpenWithinMs: 2_000 });
  const reader = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';

  it("flags Apple Mail Privacy Protection opens by the proxy's bare user agent or Apple's addresses", () => {
    expect(d.detect({ kind: 'opened', ip: '198.51.100.1', userAgent: 'Mozilla/5.0', msSinceSend: 600_000 })).toBe('apple_mpp');
    expect(d.detect({ kind: 'opened', ip: '17.1.2.3', userAgent: reader, msSinceSend: 600_000 })).toBe('apple_mpp');
    expect(d.detect({ kind: 'opened', ip: '::ffff:17.1.2.3', userAgent: reader, msSinceSend: 600_000 })).toBe('apple_mpp');
    expect(d.detect({ kind: 'opened', ip: '198.51.100.1', userAgent: reader, msSinceSend: 600_000 })).toBeNull();
  });

  it('flags scanners by user agent, configured ranges and a click too soon after the send', () => {
    expect(d.detect({ kind: 'clicked', ip: '198.51.100.1', userAgent: 'Mozilla/5.0 (compatible; Barracuda Sentinel)', msSinceSend: 600_000 })).toBe('scanner');
    expect(d.detect({ kind: 'clicked', ip: '198.51.100.1', userAgent: 'python-requests/2.31', msSinceSend: 600_000 })).toBe('scanner');
    expect(d.detect({ kind: 'clicked', ip: '203.0.113.77', userAgent: reader, msSinceSend: 600_000 })).toBe('scanner');
    expect(d.detect({ kind: 'clicked', ip: '2001:db8:5::1', userAgent: reader, msSinceSend: 600_000 })).toBe('scanner');
    expect(d.detect({ kind: 'clicked', ip: '198.51.100.1', userAgent: reader, msSinceSend: 4_000 })).toBe('scanner');
    expect(d.detect({ kind: 'clicked', ip: '198.51.100.1', userAgent: null, msSinceSend: 600_000 })).toBe('scanner');
    expect(d.detect({ kind: 'opened', ip: '198.51.100.1', userAgent: reader, msSinceSend: 500 })).toBe('scanner');
  });

  it('leaves a person alone, including when the send time is unknown', () => {
    expect(d.detect({ kind: 'clicked', ip: '198.51.100.1', userAgent: reader, msSinceSend: 60_000 })).toBeNull();
    expect(d.detect({ kind: 'clicked', ip: '198.51.100.1', userAgent: reader, msSinceSend: null })).toBeNull();
    expect(d.detect({ kind: 'opened', ip: null, userAgent: reader, msSinceSend: null })).toBeNull();
  });

  it('refuses a range that is not one, naming it', () => {
    expect(() => parseRange('17.0.0.0/33')).toThrow('"17.0.0.0/33" is not an IP range');
    expect(() => parseRange('apple')).toThrow('"apple" is not an IP range');
    expect(parseRange('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
  });
});
