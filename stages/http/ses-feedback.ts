/**
 * SES event notifications (configuration-set event publishing: `eventType`; identity notifications:
 * `notificationType`) read into what msgxc records: one feedback item per recipient. The `msgxc-*` tags
 * the email stage sets name the delivery; a permanent bounce or a complaint suppresses the address.
 */

export interface SesFeedback {
  type: 'bounced' | 'complained' | 'delivered';
  address: string;
  /** SES's message id. */
  sesMessageId: string | null;
  deliveryId: string | null;
  messageId: string | null;
  uid: string | null;
  providerCode: string;
  reason: string | null;
  detail: string | null;
  suppress: boolean;
}

interface SesEvent {
  eventType?: string;
  notificationType?: string;
  mail?: { messageId?: string; tags?: Record<string, string[]> };
  bounce?: {
    bounceType?: string;
    bounceSubType?: string;
    bouncedRecipients?: { emailAddress?: string; diagnosticCode?: string; status?: string }[];
  };
  complaint?: { complaintFeedbackType?: string; complainedRecipients?: { emailAddress?: string }[] };
  delivery?: { recipients?: string[]; smtpResponse?: string };
}

// The tag names of stages/deliver-email/ses.ts (values are base64url, the only encoding SES tags allow).
const tag = (event: SesEvent, name: string): string | null => {
  const value = event.mail?.tags?.[name]?.[0];
  return value ? Buffer.from(value, 'base64url').toString('utf8') : null;
};

export function sesFeedback(event: SesEvent): SesFeedback[] {
  const kind = event.eventType ?? event.notificationType;
  const common = {
    sesMessageId: event.mail?.messageId ?? null,
    deliveryId: tag(event, 'msgxc-delivery'),
    messageId: tag(event, 'msgxc-message'),
    uid: tag(event, 'msgxc-user'),
  };
  if (kind === 'Bounce') {
    const permanent = event.bounce?.bounceType === 'Permanent';
    const providerCode = `${event.bounce?.bounceType ?? 'Undetermined'}/${event.bounce?.bounceSubType ?? 'General'}`;
    return (event.bounce?.bouncedRecipients ?? [])
      .filter((recipient) => recipient.emailAddress)
      .map((recipient) => ({
        ...common,
        type: 'bounced',
        address: recipient.emailAddress!,
        providerCode,
        reason: permanent ? 'HARD_BOUNCE' : 'SOFT_BOUNCE',
        detail: recipient.diagnosticCode?.slice(0, 300) ?? null,
        suppress: permanent,
      }));
  }
  if (kind === 'Complaint') {
    return (event.complaint?.complainedRecipients ?? [])
      .filter((recipient) => recipient.emailAddress)
      .map((recipient) => ({
        ...common,
        type: 'complained',
        address: recipient.emailAddress!,
        providerCode: event.complaint?.complaintFeedbackType ?? 'complaint',
        reason: 'COMPLAINT',
        detail: null,
        suppress: true,
      }));
  }
  if (kind === 'Delivery') {
    return (event.delivery?.recipients ?? []).map((address) => ({
      ...common,
      type: 'delivered',
      address,
      providerCode: event.delivery?.smtpResponse?.slice(0, 3) ?? '250',
      reason: null,
      detail: null,
      suppress: false,
    }));
  }
  return [];
}
