import { createSign, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AwsCredentials, verifySigV4 } from './aws-sigv4.ts';
import { selfSignedCertificate } from './certificate.ts';
import { listen, type ProviderServer } from './http.ts';

/**
 * A local Amazon SNS, both sides of it:
 * - the Query API a client calls (`Action=Publish` with `PhoneNumber`), SigV4-verified, answering SNS's XML
 *   (`Throttled`/429 while throttling, 503 while down);
 * - the HTTPS-subscription sender that delivers topic messages to an endpoint: SubscriptionConfirmation
 *   and Notification messages signed (SignatureVersion 2, SHA256withRSA) with a key whose certificate it
 *   serves at `SigningCertURL`, and `ConfirmSubscription` reached through the `SubscribeURL` it hands out.
 */

export interface SnsSms {
  messageId: string;
  phoneNumber: string;
  message: string;
  smsType: string | null;
  receivedAt: number;
}

export interface SnsFake extends ProviderServer {
  credentials: AwsCredentials;
  sms: SnsSms[];
  refused: string[];
  down: boolean;
  throttle(count: number): void;
  /** Subscriptions confirmed through their SubscribeURL, by token. */
  confirmed: Set<string>;
  /** Sends a SubscriptionConfirmation for `topicArn` to `endpoint`; resolves with the endpoint's answer. */
  subscribe(endpoint: string, topicArn: string): Promise<Response>;
  /** Publishes a topic message (e.g. an SES bounce) to `endpoint` as a signed Notification. */
  notify(endpoint: string, topicArn: string, message: unknown, options?: { tamper?: boolean }): Promise<Response>;
}

const xmlns = 'http://sns.amazonaws.com/doc/2010-03-31/';
const escapeXml = (value: string) =>
  value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

export async function startSnsFake(options: { credentials?: AwsCredentials; port?: number } = {}) {
  const credentials = options.credentials ?? {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(20).toString('base64'),
  };
  const { key, cert } = selfSignedCertificate('sns.local');
  const sns: SnsState = {
    key,
    cert,
    certPath: `/SimpleNotificationService-${randomBytes(8).toString('hex')}.pem`,
    tokens: new Map<string, string>(),
    throttleLeft: 0,
  };
  const server = await listen((request, body, response) => handle(fake, sns, request, body, response), options.port);
  const fake: SnsFake = {
    ...server,
    credentials,
    sms: [],
    refused: [],
    confirmed: new Set<string>(),
    down: false,
    throttle(count) {
      sns.throttleLeft = count;
    },
    subscribe: async (endpoint, topicArn) => subscribe(fake, sns, endpoint, topicArn),
    notify: async (endpoint, topicArn, message, notifyOptions = {}) =>
      notify(fake, sns, endpoint, topicArn, message, notifyOptions),
  };
  return fake;
}

/** What the fake keeps to itself: its signing key and certificate, the subscription tokens, the throttle. */
interface SnsState {
  key: string;
  cert: string;
  certPath: string;
  /** Subscription token → topic ARN. */
  tokens: Map<string, string>;
  throttleLeft: number;
}

function xml(response: ServerResponse, status: number, body: string) {
  response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
  response.end(body);
}

function error(response: ServerResponse, status: number, code: string, message: string) {
  return xml(
    response,
    status,
    `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function handle(fake: SnsFake, sns: SnsState, request: IncomingMessage, body: Buffer, response: ServerResponse) {
  const url = new URL(request.url ?? '/', 'http://local');
  if (request.method === 'GET' && url.pathname === sns.certPath) {
    response.writeHead(200, { 'content-type': 'application/x-pem-file' });
    return response.end(sns.cert);
  }
  if (request.method === 'GET' && url.searchParams.get('Action') === 'ConfirmSubscription') {
    return confirmSubscription(fake, sns, url, response);
  }
  if (fake.down) return error(response, 503, 'ServiceUnavailable', 'Service is unavailable');
  const check = verifySigV4(request, body, 'sns', fake.credentials);
  if (!check.ok) {
    fake.refused.push(`auth: ${check.reason}`);
    return error(response, 403, 'SignatureDoesNotMatch', check.reason);
  }
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('Action') !== 'Publish')
    return error(response, 400, 'InvalidAction', `unsupported ${form.get('Action')}`);
  if (sns.throttleLeft > 0) {
    sns.throttleLeft--;
    return error(response, 429, 'Throttled', 'Rate exceeded');
  }
  publish(fake, form, response);
}

function confirmSubscription(fake: SnsFake, sns: SnsState, url: URL, response: ServerResponse) {
  const token = url.searchParams.get('Token') ?? '';
  const topicArn = sns.tokens.get(token);
  if (!topicArn || topicArn !== url.searchParams.get('TopicArn'))
    return error(response, 404, 'NotFound', 'unknown token');
  fake.confirmed.add(token);
  return xml(
    response,
    200,
    `<ConfirmSubscriptionResponse xmlns="${xmlns}"><ConfirmSubscriptionResult><SubscriptionArn>${topicArn}:${randomUUID()}</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>`,
  );
}

/** `Action=Publish` to a phone number: checked as SNS checks it, then kept in `sms`. */
function publish(fake: SnsFake, form: URLSearchParams, response: ServerResponse) {
  const phoneNumber = form.get('PhoneNumber') ?? '';
  const message = form.get('Message') ?? '';
  if (!/^\+[1-9]\d{6,14}$/.test(phoneNumber))
    return error(response, 400, 'InvalidParameter', 'Invalid parameter: PhoneNumber');
  if (message === '') return error(response, 400, 'InvalidParameter', 'Invalid parameter: Message');
  const messageId = randomUUID();
  fake.sms.push({
    messageId,
    phoneNumber,
    message,
    smsType: attribute(form, 'AWS.SNS.SMS.SMSType'),
    receivedAt: Date.now(),
  });
  xml(
    response,
    200,
    `<PublishResponse xmlns="${xmlns}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
  );
}

/** Sends a SubscriptionConfirmation for `topicArn` to `endpoint`; resolves with the endpoint's answer. */
function subscribe(fake: SnsFake, sns: SnsState, endpoint: string, topicArn: string): Promise<Response> {
  const token = randomBytes(32).toString('hex');
  sns.tokens.set(token, topicArn);
  const fields = {
    Type: 'SubscriptionConfirmation',
    MessageId: randomUUID(),
    Token: token,
    TopicArn: topicArn,
    Message: `You have chosen to subscribe to the topic ${topicArn}.`,
    SubscribeURL: `${fake.url}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=${token}`,
    Timestamp: new Date().toISOString(),
  };
  const keys = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return post(endpoint, 'SubscriptionConfirmation', topicArn, signed(fake, sns, fields, keys));
}

/** Publishes a topic message (e.g. an SES bounce) to `endpoint` as a signed Notification. */
function notify(
  fake: SnsFake,
  sns: SnsState,
  endpoint: string,
  topicArn: string,
  message: unknown,
  options: { tamper?: boolean },
): Promise<Response> {
  const fields = {
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Message: JSON.stringify(message),
    Timestamp: new Date().toISOString(),
  };
  const payload = signed(fake, sns, fields, ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']);
  if (options.tamper) payload.Message = JSON.stringify({ ...(message as object), tampered: true });
  return post(endpoint, 'Notification', topicArn, payload);
}

function signed(
  fake: SnsFake,
  sns: SnsState,
  fields: Record<string, string>,
  signedKeys: string[],
): Record<string, string> {
  const text = signedKeys
    .filter((name) => fields[name] !== undefined)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join('');
  const signature = createSign('RSA-SHA256').update(text).sign(sns.key, 'base64');
  return { ...fields, SignatureVersion: '2', Signature: signature, SigningCertURL: `${fake.url}${sns.certPath}` };
}

function post(endpoint: string, type: string, topicArn: string, payload: Record<string, string>) {
  return fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': type,
      'x-amz-sns-message-id': payload.MessageId!,
      'x-amz-sns-topic-arn': topicArn,
    },
    body: JSON.stringify(payload),
  });
}

/** A `MessageAttributes.entry.N` value by name, as the Query protocol flattens the map. */
function attribute(form: URLSearchParams, name: string): string | null {
  for (let index = 1; form.has(`MessageAttributes.entry.${index}.Name`); index++) {
    if (form.get(`MessageAttributes.entry.${index}.Name`) === name) {
      return form.get(`MessageAttributes.entry.${index}.Value.StringValue`);
    }
  }
  return null;
}
