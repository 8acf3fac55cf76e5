import { describe, expect, it } from 'vitest';
import { verifyUnsubscribe } from '../../pipeline/feedback/index.ts';
import { buildDeliveryBatch } from '../../schemas/types.generated.ts';
import { renderEmail } from './content.ts';

const options = { publicUrl: 'https://msgxc.test', unsubscribeSecret: 'content-tests-secret-0123456789abcdef' };

function message(fields: { subject?: string | null; text?: string | null; tid?: string | null }) {
  const batch = buildDeliveryBatch({
    batchId: 'b',
    channel: 'email',
    messageId: 'm',
    urgency: 3,
    tid: fields.tid ?? null,
    recipients: [],
    sender: { kind: 'service', id: 'test' },
    createdAt: 0,
    batchedAt: 0,
  });
  const recipient = { deliveryId: 'd', uid: 'alice', device: null, variant: null, locale: 'de' };
  return { batch, recipient, subject: fields.subject ?? null, text: fields.text ?? null, attempt: 0 };
}

describe('renderEmail', () => {
  it('escapes the HTML body, keeps the text body verbatim, breaks lines and paragraphs', () => {
    const email = renderEmail(message({ subject: 'a <b>', text: 'one\ntwo\n\n<script>x</script>' }), options);
    expect(email.html).toContain('one<br />\ntwo');
    expect(email.html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('<html lang="de">');
    expect(email.text).toContain('one\ntwo\n\n<script>x</script>');
  });

  it('takes the subject from the first line when there is none, never with a line break', () => {
    expect(renderEmail(message({ text: 'Hello there\nmore' }), options).subject).toBe('Hello there');
    expect(renderEmail(message({ subject: 'a\r\nBcc: evil@example.test' }), options).subject).toBe(
      'a Bcc: evil@example.test',
    );
    expect(renderEmail(message({}), options).subject).toBe('You have a new message');
  });

  it('carries RFC 8058 headers with a link signed for the user and thread', () => {
    const email = renderEmail(message({ text: 'x', tid: 't9' }), options);
    expect(email.headers[1]).toEqual({ name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' });
    const link = new URL(email.headers[0]!.value.slice(1, -1));
    expect(verifyUnsubscribe(options.unsubscribeSecret, link.searchParams)).toEqual({ uid: 'alice', tid: 't9' });
  });
});
