import { z } from 'zod';
import { bool } from './env.ts';

/**
 * Delivery (pipeline/delivery and the deliver.webpush / deliver.apns / deliver.fcm stages): the shared provider
 * policy and the push channels' credentials and endpoints. A channel without credentials is disabled (its
 * deliveries become `skipped` events) unless the sandbox points it at the local provider servers
 * (stack/providers). Secrets stay in this object and never reach a log line.
 */
const positive = z.coerce.number().int().min(1);

export const deliveryEnv = z.object({
  // Provider policy, shared by every channel.
  MSGXC_DELIVERY_MAX_ATTEMPTS: positive.max(100).default(8),
  MSGXC_DELIVERY_RETRY_BASE_MS: positive.default(2_000),
  MSGXC_DELIVERY_RETRY_MAX_MS: positive.default(300_000),
  // The longest a handler waits in-process (Retry-After, open breaker) before parking records in the retry topic.
  MSGXC_DELIVERY_MAX_WAIT_MS: z.coerce.number().int().min(0).default(15_000),
  MSGXC_DELIVERY_TIMEOUT_MS: positive.default(10_000),
  MSGXC_DELIVERY_BREAKER_FAILURES: positive.default(5),
  MSGXC_DELIVERY_BREAKER_COOLDOWN_MS: positive.default(5_000),
  // `auto`: `npm start` runs the local provider servers for channels without credentials; `off`: never.
  MSGXC_DELIVERY_SANDBOX: z.enum(['auto', 'off']).default('auto'),
  // The sandbox's page listing what the local provider servers received.
  MSGXC_SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(8095),

  // Web Push (RFC 8030/8291/8292).
  MSGXC_WEBPUSH_VAPID_PUBLIC_KEY: z.string().optional(),
  MSGXC_WEBPUSH_VAPID_PRIVATE_KEY: z.string().optional(),
  MSGXC_WEBPUSH_VAPID_SUBJECT: z.string().default('mailto:ops@msgxc.invalid'),
  MSGXC_WEBPUSH_RATE: positive.default(1_000),
  MSGXC_WEBPUSH_CONCURRENCY: positive.max(1_000).default(50),
  MSGXC_WEBPUSH_CA_FILE: z.string().optional(),

  // APNs (token auth).
  MSGXC_APNS_KEY_FILE: z.string().optional(),
  MSGXC_APNS_KEY_ID: z.string().optional(),
  MSGXC_APNS_TEAM_ID: z.string().optional(),
  MSGXC_APNS_TOPIC: z.string().optional(),
  MSGXC_APNS_PRODUCTION: bool.default(true),
  // Another APNs address (the sandbox's local server): host:port, with the CA that signs its certificate.
  MSGXC_APNS_ADDRESS: z.string().optional(),
  MSGXC_APNS_CA_FILE: z.string().optional(),
  MSGXC_APNS_RATE: positive.default(5_000),

  // FCM HTTP v1.
  MSGXC_FCM_CREDENTIALS_FILE: z.string().optional(),
  MSGXC_FCM_PROJECT_ID: z.string().optional(),
  MSGXC_FCM_ENDPOINT: z.url().default('https://fcm.googleapis.com'),
  MSGXC_FCM_CA_FILE: z.string().optional(),
  // Another OAuth token endpoint for the service account (the sandbox's); Google's by default.
  MSGXC_FCM_TOKEN_URL: z.url().optional(),
  // 600,000 messages per minute per project (FCM's documented quota).
  MSGXC_FCM_RATE: positive.default(10_000),
});

type DeliveryEnv = z.infer<typeof deliveryEnv>;

export interface DeliveryPolicyConfig {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxWaitMs: number;
  timeoutMs: number;
  breakerFailures: number;
  breakerCooldownMs: number;
}

export interface WebPushConfig {
  vapid: { publicKey: string; privateKey: string; subject: string } | null;
  perSecond: number;
  concurrency: number;
  caFile: string | null;
}

export interface ApnsConfig {
  /** Null when not configured. */
  token: { keyFile: string; keyId: string; teamId: string } | null;
  topic: string | null;
  production: boolean;
  address: { host: string; port: number } | null;
  caFile: string | null;
  perSecond: number;
}

export interface FcmConfig {
  credentialsFile: string | null;
  projectId: string | null;
  endpoint: string;
  caFile: string | null;
  tokenUrl: string | null;
  perSecond: number;
}

export interface DeliveryConfig {
  policy: DeliveryPolicyConfig;
  sandbox: 'auto' | 'off';
  sandboxPort: number;
  webpush: WebPushConfig;
  apns: ApnsConfig;
  fcm: FcmConfig;
}

function hostPort(value: string | undefined): { host: string; port: number } | null {
  if (!value) return null;
  const index = value.lastIndexOf(':');
  return index < 0 ? { host: value, port: 443 } : { host: value.slice(0, index), port: Number(value.slice(index + 1)) };
}

export function deliveryConfig(env: DeliveryEnv): DeliveryConfig {
  const vapidKeys = env.MSGXC_WEBPUSH_VAPID_PUBLIC_KEY && env.MSGXC_WEBPUSH_VAPID_PRIVATE_KEY;
  const apnsToken = env.MSGXC_APNS_KEY_FILE && env.MSGXC_APNS_KEY_ID && env.MSGXC_APNS_TEAM_ID;
  return {
    policy: {
      maxAttempts: env.MSGXC_DELIVERY_MAX_ATTEMPTS,
      retryBaseMs: env.MSGXC_DELIVERY_RETRY_BASE_MS,
      retryMaxMs: env.MSGXC_DELIVERY_RETRY_MAX_MS,
      maxWaitMs: env.MSGXC_DELIVERY_MAX_WAIT_MS,
      timeoutMs: env.MSGXC_DELIVERY_TIMEOUT_MS,
      breakerFailures: env.MSGXC_DELIVERY_BREAKER_FAILURES,
      breakerCooldownMs: env.MSGXC_DELIVERY_BREAKER_COOLDOWN_MS,
    },
    sandbox: env.MSGXC_DELIVERY_SANDBOX,
    sandboxPort: env.MSGXC_SANDBOX_PORT,
    webpush: {
      vapid: vapidKeys
        ? {
            publicKey: env.MSGXC_WEBPUSH_VAPID_PUBLIC_KEY!,
            privateKey: env.MSGXC_WEBPUSH_VAPID_PRIVATE_KEY!,
            subject: env.MSGXC_WEBPUSH_VAPID_SUBJECT,
          }
        : null,
      perSecond: env.MSGXC_WEBPUSH_RATE,
      concurrency: env.MSGXC_WEBPUSH_CONCURRENCY,
      caFile: env.MSGXC_WEBPUSH_CA_FILE ?? null,
    },
    apns: {
      token: apnsToken
        ? { keyFile: env.MSGXC_APNS_KEY_FILE!, keyId: env.MSGXC_APNS_KEY_ID!, teamId: env.MSGXC_APNS_TEAM_ID! }
        : null,
      topic: env.MSGXC_APNS_TOPIC ?? null,
      production: env.MSGXC_APNS_PRODUCTION,
      address: hostPort(env.MSGXC_APNS_ADDRESS),
      caFile: env.MSGXC_APNS_CA_FILE ?? null,
      perSecond: env.MSGXC_APNS_RATE,
    },
    fcm: {
      credentialsFile: env.MSGXC_FCM_CREDENTIALS_FILE ?? null,
      projectId: env.MSGXC_FCM_PROJECT_ID ?? null,
      endpoint: env.MSGXC_FCM_ENDPOINT,
      caFile: env.MSGXC_FCM_CA_FILE ?? null,
      tokenUrl: env.MSGXC_FCM_TOKEN_URL ?? null,
      perSecond: env.MSGXC_FCM_RATE,
    },
  };
}
