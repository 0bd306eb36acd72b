import type { OutgoingMail } from '../../../src/ports/mail-transport.ts';

/**
 * A message as the delivery engine hands it to a transport. The raw form has CRLF line ends, a
 * DKIM-Signature header, UTF-8 and one 8-bit byte outside UTF-8, so any re-encoding on the way
 * to the provider shows up as a byte difference.
 */
export function sampleOutgoingMail(over: Partial<OutgoingMail> = {}): OutgoingMail {
  const raw = Buffer.concat([
    Buffer.from(
      [
        'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example; s=s1;',
        ' h=from:to:subject; bh=abc=; b=def=',
        'From: =?UTF-8?Q?Caf=C3=A9_Shop?= <news@shop.example>',
        'To: ana@example.net',
        'Subject: =?UTF-8?Q?Soldes_d=E2=80=99=C3=A9t=C3=A9?=',
        'Message-ID: <m0abcdef12345678@shop.example>',
        'List-Unsubscribe: <https://shop.example/u/t0k3n>, <mailto:unsubscribe+t0k3n@bounce.shop.example>',
        'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
        'Feedback-ID: campaign-7:summer:marketing:shop',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Bonjour Ana, les soldes d’été commencent. ',
      ].join('\r\n'),
      'utf8',
    ),
    Buffer.from([0xff, 0x0d, 0x0a]),
  ]);
  return {
    messageRef: 'm0abcdef12345678',
    envelope: { from: 'b+m0abcdef12345678@bounce.shop.example', to: 'ana@example.net' },
    raw,
    stream: 'marketing',
    parts: {
      messageId: '<m0abcdef12345678@shop.example>',
      from: { name: 'Café Shop', address: 'news@shop.example' },
      replyTo: 'help@shop.example',
      to: 'ana@example.net',
      subject: 'Soldes d’été',
      html: '<p>Bonjour Ana, les soldes d’été commencent.</p>',
      text: 'Bonjour Ana, les soldes d’été commencent.',
      headers: [
        ['List-Unsubscribe', '<https://shop.example/u/t0k3n>, <mailto:unsubscribe+t0k3n@bounce.shop.example>'],
        ['List-Unsubscribe-Post', 'List-Unsubscribe=One-Click'],
        ['Feedback-ID', 'campaign-7:summer:marketing:shop'],
      ],
    },
    tags: { campaign: '7', template: 'summer-sale' },
    ...over,
  };
}
