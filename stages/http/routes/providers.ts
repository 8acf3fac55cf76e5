import type { Context } from 'hono';
import twilio from 'twilio';
import { z } from 'zod';
import type { MessagingConfig } from '../../../pipeline/config/index.ts';
import { MsgxcError } from '../../../pipeline/errors/index.ts';
import { callbackSubject, feedbackPaths, verifyUnsubscribe } from '../../../pipeline/feedback/index.ts';
import type { UserStore } from '../../../pipeline/store/user.ts';
import { deviceId } from '../../../pipeline/store/user-types.ts';
import { buildDeliveryEvent, type DeliveryEvent } from '../../../schemas/types.generated.ts';
import { dependency, forbidden } from '../errors.ts';
import type { AppDeps, TopicPublisher } from '../ports.ts';
import { audienceChange, traceOf, writeThenEmit } from '../requests.ts';
import type { Env, Router } from '../router.ts';
import { sesFeedback } from '../ses-feedback.ts';
import { type CertificateFetcher, checkSnsUrl, createSnsVerifier, parseSnsMessage } from '../sns-message.ts';
import { unsubscribePage } from './unsubscribe-page.ts';

/**
 * What providers and mail clients call: Twilio status callbacks (X-Twilio-Signature checked with the SDK's
 * validateRequest), SES feedback through an SNS HTTPS subscription (certificate host allow-listed, message
 * signature verified, SubscriptionConfirmation confirmed), and the RFC 8058 one-click unsubscribe (signed
 * link, no login). Each becomes events on `events`; hard bounces, complaints and STOP suppress the address.
 */

export interface ProviderRouteDeps {
  messaging: MessagingConfig;
  events: TopicPublisher<DeliveryEvent>;
  users: Pick<UserStore, 'ownerOf' | 'markDeviceDead' | 'setPreferences' | 'preferencesOf'>;
  /** Fetches SNS signing certificates (tests serve theirs locally; the host allow-list applies either way). */
  fetchCertificate?: CertificateFetcher;
}

type Feedback = DeliveryEvent;

export function addProviderRoutes(router: Router, deps: AppDeps): void {
  const providers = deps.providers;
  if (!providers) return;
  const feedback = feedbackContext(deps, providers);
  addTwilioStatusRoute(router, feedback);
  addSesNotificationRoute(router, feedback);
  addUnsubscribeRoutes(router, feedback);
}

interface FeedbackContext {
  deps: AppDeps;
  providers: ProviderRouteDeps;
  messaging: MessagingConfig;
  timeout: number;
  /** Encodes and produces events; resolves once Kafka acknowledged them. */
  emit(events: Feedback[]): Promise<void>;
  /** Removes an address from its owner (remembered in dead_devices) and tells the audience index. */
  suppress(c: Context<Env>, channel: 'sms' | 'email', address: string, reason: string): Promise<void>;
}

function feedbackContext(deps: AppDeps, providers: ProviderRouteDeps): FeedbackContext {
  const timeout = deps.limits.dependencyTimeoutMs;
  return {
    deps,
    providers,
    messaging: providers.messaging,
    timeout,
    async emit(events) {
      if (events.length === 0) return;
      const records = await dependency('schema registry', timeout, () =>
        Promise.all(events.map((event) => providers.events.prepare(event, event.deliveryId ?? event.eventId))),
      );
      await dependency('kafka', timeout, () => providers.events.send(records));
    },
    async suppress(c, channel, address, reason) {
      const id = deviceId({ channel, address });
      const owner = await dependency('cassandra', timeout, () => providers.users.ownerOf(channel, id));
      if (owner === null) return;
      const device = { channel, id, token: null, subscription: null, address, platform: null };
      await writeThenEmit(deps, c.get('log'), {
        change: audienceChange('remove_device', owner.uid, deps.clock(), traceOf(c), { device }),
        write: () => providers.users.markDeviceDead(owner.uid, channel, id, reason),
      });
    },
  };
}

function addTwilioStatusRoute(router: Router, { deps, messaging, emit, suppress }: FeedbackContext): void {
  router.add(
    {
      method: 'post',
      path: feedbackPaths.twilioStatus,
      operationId: 'twilioStatusCallback',
      summary: 'Twilio message status callback: delivered / undelivered become events.',
      description: 'Form-encoded, signed with X-Twilio-Signature over the configured public URL.',
      tags: ['providers'],
      access: 'public',
      responses: {
        204: { description: 'Recorded.' },
        400: { description: 'The callback URL does not name a delivery.' },
        403: { description: 'The signature does not match.' },
        404: { description: 'Twilio is not configured.' },
      },
    },
    async ({ c }) => {
      const settings = messaging.sms.twilio;
      if (!settings) throw new MsgxcError('NOT_FOUND', 'Twilio is not configured', { status: 404 });
      const params = Object.fromEntries(new URLSearchParams(await c.req.text()));
      const requested = new URL(c.req.url);
      const url = `${messaging.publicUrl}${requested.pathname}${requested.search}`;
      const signature = c.req.header('x-twilio-signature') ?? '';
      if (!twilio.validateRequest(settings.authToken.reveal(), signature, url, params)) {
        throw forbidden('the X-Twilio-Signature does not match');
      }
      const subject = callbackSubject(requested.searchParams);
      if (subject === null) throw badRequest('query', 'the callback URL does not name a delivery');
      const status = params.MessageStatus ?? params.SmsStatus;
      const type =
        status === 'delivered' ? 'delivered' : status === 'undelivered' || status === 'failed' ? 'undelivered' : null;
      if (type === null) return c.body(null, 204);
      const sid = params.MessageSid ?? params.SmsSid ?? '';
      await emit([
        buildDeliveryEvent({
          eventId: `twilio:${sid}:${type}`,
          type,
          at: deps.clock(),
          messageId: subject.messageId,
          deliveryId: subject.deliveryId,
          uid: subject.uid,
          channel: 'sms',
          deviceId: subject.deviceId,
          provider: 'twilio',
          providerCode: params.ErrorCode ?? status ?? null,
          providerMessageId: sid || null,
          reason: type === 'undelivered' ? 'CARRIER_UNDELIVERED' : null,
          source: 'http.providers',
        }),
      ]);
      if (params.ErrorCode === '21610' && params.To) await suppress(c, 'sms', params.To, 'SMS_STOP');
      return c.body(null, 204);
    },
  );
}

function addSesNotificationRoute(router: Router, feedback: FeedbackContext): void {
  const { deps, messaging, timeout, emit, suppress } = feedback;
  const verifySns = createSnsVerifier(messaging.feedback.snsCertHosts, feedback.providers.fetchCertificate);
  router.add(
    {
      method: 'post',
      path: feedbackPaths.sesNotifications,
      operationId: 'sesNotifications',
      summary: 'SES bounce / complaint / delivery events through an SNS HTTPS subscription.',
      description: 'SNS JSON (text/plain). Signature verified; SubscriptionConfirmation confirmed.',
      tags: ['providers'],
      access: 'public',
      rawBody: { mediaTypes: ['text/plain', 'application/json'], schema: snsMessageSchema },
      responses: {
        200: { description: 'Confirmed or recorded.' },
        400: { description: 'Not an SNS message.' },
        403: { description: 'Bad signature, certificate host or topic.' },
      },
    },
    async ({ c, log }) => {
      const message = parseSnsMessage(await c.req.text());
      const topics = messaging.feedback.topicArns;
      if (topics !== null && !topics.includes(message.TopicArn))
        throw forbidden(`topic ${message.TopicArn} is not accepted`);
      await verifySns(message);
      if (message.Type === 'SubscriptionConfirmation') {
        const subscribe = checkSnsUrl(message.SubscribeURL ?? '', messaging.feedback.snsCertHosts, 'SubscribeURL');
        const answer = await dependency('sns', timeout, () => fetch(subscribe, { signal: AbortSignal.timeout(5000) }));
        await answer.body?.cancel();
        if (!answer.ok)
          throw new MsgxcError('SERVICE_UNAVAILABLE', `SNS answered ${answer.status}`, {
            status: 503,
            retriable: true,
          });
        log.info({ topic: message.TopicArn }, 'SNS subscription confirmed');
        return { confirmed: true };
      }
      if (message.Type === 'UnsubscribeConfirmation') return { confirmed: false };
      let event: unknown;
      try {
        event = JSON.parse(message.Message);
      } catch (error) {
        throw new MsgxcError('INVALID_REQUEST', 'Message: not JSON', {
          status: 400,
          cause: error,
          details: { issues: [{ path: ['Message'], message: 'not JSON' }] },
        });
      }
      const feedback = sesFeedback(event as Parameters<typeof sesFeedback>[0]);
      await emit(
        feedback.map((item) =>
          buildDeliveryEvent({
            eventId: `ses:${message.MessageId}:${item.address}`,
            type: item.type,
            at: deps.clock(),
            messageId: item.messageId,
            deliveryId: item.deliveryId,
            uid: item.uid,
            channel: 'email',
            deviceId: deviceId({ channel: 'email', address: item.address }),
            provider: 'ses',
            providerCode: item.providerCode,
            providerMessageId: item.sesMessageId,
            reason: item.reason,
            detail: item.detail,
            source: 'http.providers',
          }),
        ),
      );
      for (const item of feedback.filter((candidate) => candidate.suppress)) {
        await suppress(c, 'email', item.address, item.reason ?? 'SUPPRESSED');
      }
      return { recorded: feedback.length };
    },
  );
}

/** The signed link's query (checked again, with its signature, by verifyUnsubscribe). */
const unsubscribeQuery = z.object({
  u: z.string().min(1).meta({ description: 'The user id.' }),
  s: z.string().min(1).meta({ description: 'The signature (base64url HMAC of the user and thread).' }),
  t: z.string().optional().meta({ description: 'The thread id, when the link unsubscribes from one thread.' }),
});

const unsubscribeResponses = {
  400: { description: 'The link lacks its user or signature.' },
  403: { description: 'The signature does not match.' },
  404: { description: 'Unsubscribe links are not configured on this server.' },
};

/** What SNS posts (as text/plain): the fields parseSnsMessage requires; the signature is checked after. */
const snsMessageSchema = z
  .looseObject({
    Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
    MessageId: z.string(),
    TopicArn: z.string(),
    Message: z.string(),
    Timestamp: z.string(),
    SignatureVersion: z.string(),
    Signature: z.string(),
    SigningCertURL: z.string(),
  })
  .meta({ title: 'SnsMessage' });

function addUnsubscribeRoutes(router: Router, { deps, providers, messaging, timeout }: FeedbackContext): void {
  const unsubscribeTarget = (c: Context<Env>) => {
    const secret = messaging.unsubscribeSecret;
    if (!secret) throw new MsgxcError('NOT_FOUND', 'unsubscribe links are not configured', { status: 404 });
    const query = new URL(c.req.url).searchParams;
    if (!query.get('u') || !query.get('s')) throw badRequest(query.get('u') ? 's' : 'u', 'missing');
    const target = verifyUnsubscribe(secret.reveal(), query);
    if (target === null) throw forbidden('the unsubscribe link is not valid');
    return target;
  };

  router.add(
    {
      method: 'post',
      path: feedbackPaths.unsubscribe,
      operationId: 'unsubscribeOneClick',
      summary: 'RFC 8058 one-click unsubscribe: opts the user out of the thread (or everything) without a login.',
      description: 'The signed link from List-Unsubscribe; body `List-Unsubscribe=One-Click`.',
      tags: ['providers'],
      access: 'public',
      query: unsubscribeQuery,
      responses: { 200: { description: 'Unsubscribed.' }, ...unsubscribeResponses },
    },
    async ({ c }) => {
      const target = unsubscribeTarget(c);
      const before = await dependency('cassandra', timeout, () => providers.users.preferencesOf(target.uid));
      const previous = target.tid === null ? before.global : (before.threads[target.tid] ?? null);
      await writeThenEmit(deps, c.get('log'), {
        change: audienceChange('preferences', target.uid, deps.clock(), traceOf(c), {
          preferences: { tid: target.tid, channels: [], optOut: true },
        }),
        write: () => providers.users.setPreferences(target.uid, ['~'], target.tid ?? undefined),
        undo: () => providers.users.setPreferences(target.uid, previous, target.tid ?? undefined),
      });
      return c.html(unsubscribePage({ done: true, thread: target.tid !== null }));
    },
  );

  router.add(
    {
      method: 'get',
      path: feedbackPaths.unsubscribe,
      operationId: 'unsubscribePage',
      summary: 'The unsubscribe link opened in a browser: a page whose button posts the one-click request.',
      description: 'GET never unsubscribes (link scanners follow links); the page asks first.',
      tags: ['providers'],
      access: 'public',
      query: unsubscribeQuery,
      responses: { 200: { description: 'The page.' }, ...unsubscribeResponses },
    },
    async ({ c }) => {
      const target = unsubscribeTarget(c);
      return c.html(unsubscribePage({ done: false, thread: target.tid !== null }));
    },
  );
}

function badRequest(field: string, message: string): MsgxcError {
  return new MsgxcError('INVALID_REQUEST', `${field}: ${message}`, {
    status: 400,
    details: { issues: [{ path: [field], message }] },
  });
}
