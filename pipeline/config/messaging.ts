import { inspect } from 'node:util';
import { z } from 'zod';
import { list } from './env.ts';

/**
 * SMS and email providers (stages/deliver-sms, stages/deliver-email) and the facade endpoints they report
 * to (status callbacks, SES feedback through SNS, one-click unsubscribe). A provider is configured when its
 * credentials are; which of the two providers of a channel is primary is a setting.
 */
export const messagingEnv = z.object({
  // The facade's address as providers and mail clients reach it: callbacks and unsubscribe links point here.
  MSGXC_PUBLIC_URL: z.url().default('http://127.0.0.1:8080'),
  MSGXC_UNSUBSCRIBE_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  MSGXC_SMS_PRIMARY: z.enum(['twilio', 'sns']).default('twilio'),
  MSGXC_TWILIO_ACCOUNT_SID: z.string().startsWith('AC').optional(),
  MSGXC_TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  MSGXC_TWILIO_MESSAGING_SERVICE_SID: z.string().startsWith('MG').optional(),
  MSGXC_TWILIO_FROM: z.string().min(1).optional(),
  MSGXC_TWILIO_API_URL: z.url().default('https://api.twilio.com'),
  MSGXC_TWILIO_SEGMENTS_PER_SECOND: z.coerce.number().positive().default(10),
  MSGXC_AWS_REGION: z.string().default('us-east-1'),
  MSGXC_AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  MSGXC_AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  MSGXC_SNS_ENDPOINT: z.url().optional(),
  MSGXC_SNS_SMS_PER_SECOND: z.coerce.number().positive().default(20),
  MSGXC_EMAIL_PRIMARY: z.enum(['ses', 'smtp']).default('ses'),
  MSGXC_EMAIL_FROM: z.string().min(3).default('msgxc <no-reply@msgxc.localhost>'),
  MSGXC_SES_ENDPOINT: z.url().optional(),
  MSGXC_SES_CONFIGURATION_SET: z.string().min(1).optional(),
  MSGXC_SES_MAX_SEND_RATE: z.coerce.number().positive().default(14),
  MSGXC_SMTP_URL: z.url().optional(),
  MSGXC_SMTP_PER_SECOND: z.coerce.number().positive().default(10),
  MSGXC_SNS_CERT_HOSTS: list.default(['sns.*.amazonaws.com']),
  MSGXC_SES_FEEDBACK_TOPIC_ARNS: list.optional(),
});

/** A credential: prints, inspects and serialises as `[redacted]`, so a logged config never leaks it. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

export interface TwilioSettings {
  accountSid: string;
  authToken: Secret;
  /** A Messaging Service picks the sender from its pool; preferred over `from` when both are set. */
  messagingServiceSid: string | null;
  from: string | null;
  /** The REST API's origin (a local server in tests and the sandbox). */
  apiUrl: string;
  segmentsPerSecond: number;
}

export interface AwsSettings {
  region: string;
  accessKeyId: string;
  secretAccessKey: Secret;
  /** An endpoint other than AWS's (a local server in tests and the sandbox). */
  endpoint: string | null;
  perSecond: number;
}

export interface SmtpSettings {
  /** `smtp://user:password@host:port` (or `smtps://`): carries the password, hence a secret. */
  url: Secret;
  perSecond: number;
}

export interface MessagingConfig {
  publicUrl: string;
  /** HMAC key of the one-click unsubscribe links; outside production a public development default. */
  unsubscribeSecret: Secret | null;
  sms: { primary: 'twilio' | 'sns'; twilio: TwilioSettings | null; sns: AwsSettings | null };
  email: {
    primary: 'ses' | 'smtp';
    from: string;
    ses: (AwsSettings & { configurationSet: string | null }) | null;
    smtp: SmtpSettings | null;
  };
  feedback: {
    /** Hosts (`*` matches one label) that may serve SNS signing certificates and subscription URLs. */
    snsCertHosts: string[];
    /** When set, only notifications from these topics are accepted. */
    topicArns: string[] | null;
  };
}

export const developmentUnsubscribeSecret = 'msgxc-development-unsubscribe-key-do-not-use-in-production';

export function messagingConfig(env: z.infer<typeof messagingEnv>, production: boolean): MessagingConfig {
  const aws = (endpoint: string | undefined, perSecond: number): AwsSettings | null =>
    env.MSGXC_AWS_ACCESS_KEY_ID && env.MSGXC_AWS_SECRET_ACCESS_KEY
      ? {
          region: env.MSGXC_AWS_REGION,
          accessKeyId: env.MSGXC_AWS_ACCESS_KEY_ID,
          secretAccessKey: new Secret(env.MSGXC_AWS_SECRET_ACCESS_KEY),
          endpoint: endpoint ?? null,
          perSecond,
        }
      : null;
  const twilioSender = env.MSGXC_TWILIO_MESSAGING_SERVICE_SID ?? env.MSGXC_TWILIO_FROM;
  const ses = aws(env.MSGXC_SES_ENDPOINT, env.MSGXC_SES_MAX_SEND_RATE);
  const unsubscribe = env.MSGXC_UNSUBSCRIBE_SECRET ?? (production ? undefined : developmentUnsubscribeSecret);
  return {
    publicUrl: env.MSGXC_PUBLIC_URL.replace(/\/+$/, ''),
    unsubscribeSecret: unsubscribe ? new Secret(unsubscribe) : null,
    sms: {
      primary: env.MSGXC_SMS_PRIMARY,
      twilio:
        env.MSGXC_TWILIO_ACCOUNT_SID && env.MSGXC_TWILIO_AUTH_TOKEN && twilioSender
          ? {
              accountSid: env.MSGXC_TWILIO_ACCOUNT_SID,
              authToken: new Secret(env.MSGXC_TWILIO_AUTH_TOKEN),
              messagingServiceSid: env.MSGXC_TWILIO_MESSAGING_SERVICE_SID ?? null,
              from: env.MSGXC_TWILIO_FROM ?? null,
              apiUrl: env.MSGXC_TWILIO_API_URL.replace(/\/+$/, ''),
              segmentsPerSecond: env.MSGXC_TWILIO_SEGMENTS_PER_SECOND,
            }
          : null,
      sns: aws(env.MSGXC_SNS_ENDPOINT, env.MSGXC_SNS_SMS_PER_SECOND),
    },
    email: {
      primary: env.MSGXC_EMAIL_PRIMARY,
      from: env.MSGXC_EMAIL_FROM,
      ses: ses ? { ...ses, configurationSet: env.MSGXC_SES_CONFIGURATION_SET ?? null } : null,
      smtp: env.MSGXC_SMTP_URL ? { url: new Secret(env.MSGXC_SMTP_URL), perSecond: env.MSGXC_SMTP_PER_SECOND } : null,
    },
    feedback: { snsCertHosts: env.MSGXC_SNS_CERT_HOSTS, topicArns: env.MSGXC_SES_FEEDBACK_TOPIC_ARNS ?? null },
  };
}
