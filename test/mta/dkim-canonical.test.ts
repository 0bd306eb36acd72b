import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalBodyRelaxed } from '../../src/mta/dkim.ts';

// RFC 6376 3.4.4 read literally, line by line: the reference the fast whole-text version must equal.
function reference(body: string): string {
  const lines = body.split('\r\n');
  // A body not ending in CRLF has a last line without one; split leaves '' after a final CRLF.
  if (lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.length === 0 ? '' : `${out.join('\r\n')}\r\n`;
}

describe('relaxed body canonicalization', () => {
  it('collapses runs and tabs, strips line ends and trailing empty lines, as RFC 6376 3.4.4 says', () => {
    const cases = [
      '',
      '\r\n',
      '\r\n\r\n\r\n',
      'abc',
      ' x ',
      'a  b \r\n\tc\t\r\n\r\n\r\n',
      'one\ttab\t \t and  two  \r\n  \r\nend  ',
      // RFC 6376 3.4.5's example body.
      ' C \r\nD \t E\r\n\r\n\r\n',
    ];
    for (const c of cases) expect(canonicalBodyRelaxed(Buffer.from(c, 'latin1')).toString('latin1'), JSON.stringify(c)).toBe(reference(c));
    expect(canonicalBodyRelaxed(Buffer.from(' C \r\nD \t E\r\n\r\n\r\n')).toString()).toBe(' C\r\nD E\r\n');
  });

  it('equals the reference on random bodies of blanks, tabs, line ends and text', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pieces = [' ', '  ', '\t', ' \t ', '\r\n', 'a', 'word', '=20', '\u00e9'];
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(rnd() * 30);
      for (let i = 0; i < len; i++) s += pieces[Math.floor(rnd() * pieces.length)];
      const got = canonicalBodyRelaxed(Buffer.from(s, 'latin1'));
      expect(createHash('sha256').update(got).digest('hex'), JSON.stringify(s)).toBe(createHash('sha256').update(reference(s), 'latin1').digest('hex'));
    }
  });
});
