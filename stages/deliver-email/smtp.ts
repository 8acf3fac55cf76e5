import { createTransport } from 'nodemailer';
import type { SmtpSettings } from '../../pipeline/config/messaging.ts';
import type { Outcome, OutgoingMessage, ProviderAdapter } from '../../pipeline/delivery/contract.ts';
import { type ContentOptions, renderEmail } from './content.ts';

/** E-mail over SMTP with nodemailer (a pooled transport), the failover of SES. */

const defaultThrottleMs = 1000;

export interface SmtpAdapterOptions extends ContentOptions {
  from: string;
}

export function createSmtpAdapter(settings: SmtpSettings, options: SmtpAdapterOptions): ProviderAdapter {
  const transport = createTransport({ url: settings.url.reveal(), pool: true, maxConnections: 5, maxMessages: 1000 });

  async function sendOne(message: OutgoingMessage): Promise<Outcome> {
    const { recipient } = message;
    const deliveryId = recipient.deliveryId;
    const to = recipient.device?.address;
    if (!to) return { deliveryId, status: 'rejected', providerCode: 'NO_ADDRESS', detail: 'the device has no address' };
    const content = renderEmail(message, options);
    try {
      const info = await transport.sendMail({
        from: options.from,
        to,
        subject: content.subject,
        text: content.text,
        html: content.html,
        headers: Object.fromEntries(content.headers.map(({ name, value }) => [name, value])),
      });
      return { deliveryId, status: 'sent', providerMessageId: info.messageId, providerCode: '250' };
    } catch (error) {
      return { ...smtpFailure(error), deliveryId };
    }
  }

  return {
    provider: 'smtp',
    channel: 'email',
    maxBatch: 20,
    send: (messages) => Promise.all(messages.map(sendOne)),
    async close() {
      transport.close();
    },
  };
}

/** An SMTP reply as an outcome: 5xx refuse this message, 421 and 4.7.x ask to slow down, the rest is transient. */
export function smtpFailure(error: unknown): Omit<Outcome, 'deliveryId'> {
  const { responseCode, response, code, message } = error as {
    responseCode?: number;
    response?: string;
    code?: string;
    message?: string;
  };
  const detail = (response ?? message)?.slice(0, 300);
  if (responseCode === undefined) return { status: 'failed', providerCode: code ?? 'NETWORK', detail };
  const providerCode = String(responseCode);
  const enhanced = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response ?? '')?.[1];
  if (responseCode >= 500) {
    // 5.1.1 (no such mailbox) and 5.1.10 (null MX) mean the address itself is dead: suppress it.
    const dead = enhanced === '5.1.1' || enhanced === '5.1.10';
    return { status: 'rejected', providerCode, detail, ...(dead ? { suppress: true, prune: true } : {}) };
  }
  if (responseCode === 421 || enhanced?.startsWith('4.7.')) {
    return { status: 'throttled', providerCode, retryAfterMs: defaultThrottleMs, detail };
  }
  return { status: 'failed', providerCode, detail };
}
