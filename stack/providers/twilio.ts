import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import twilio from 'twilio';
import { listen, type ProviderServer, sendJson } from './http.ts';

/**
 * A local Twilio Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`) that checks what a client
 * sends the way Twilio does: Basic auth with the account SID and auth token, form fields `To` (E.164),
 * `Body`, exactly one of `From`/`MessagingServiceSid`, an absolute `StatusCallback`. It answers with
 * Twilio's JSON and error codes: 21610 for a number that replied STOP, 20429 (HTTP 429) while throttling,
 * 503 while down. `reportStatus` posts a signed status callback like Twilio's.
 */

export interface TwilioMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  validityPeriod: number | null;
  receivedAt: number;
}

export interface TwilioFake extends ProviderServer {
  accountSid: string;
  authToken: string;
  received: TwilioMessage[];
  /** Requests refused, by reason (auth, validation), for tests that expect none. */
  refused: string[];
  /** Numbers that replied STOP: sending to them answers 21610. */
  stopped: Set<string>;
  /** While true every request answers 503. */
  down: boolean;
  /** The next `count` requests answer 429/20429 with this Retry-After (seconds). */
  throttle(count: number, retryAfterSeconds: number): void;
  /** When each throttled request arrived and until when Twilio asked to wait. */
  throttledUntil: number[];
  /** Posts a status callback (signed with the auth token) for a received message. */
  reportStatus(
    sid: string,
    status: 'sent' | 'delivered' | 'undelivered' | 'failed',
    errorCode?: string,
  ): Promise<Response>;
}

const e164 = /^\+[1-9]\d{6,14}$/;

export interface TwilioFakeOptions {
  accountSid?: string;
  authToken?: string;
  port?: number;
  /** Report every accepted message `delivered` to its StatusCallback right away, as a handset would (sandbox). */
  autoDeliver?: boolean;
}

export async function startTwilioFake(options: TwilioFakeOptions = {}) {
  const accountSid = options.accountSid ?? `AC${randomBytes(16).toString('hex')}`;
  const authToken = options.authToken ?? randomBytes(16).toString('hex');
  const gate: TwilioGate = {
    expectedAuth: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
    throttleLeft: 0,
    throttleSeconds: 1,
    autoDeliver: options.autoDeliver,
  };
  const server = await listen((request, body, response) => handle(fake, gate, request, body, response), options.port);
  const fake: TwilioFake = {
    ...server,
    accountSid,
    authToken,
    received: [],
    refused: [],
    stopped: new Set<string>(),
    down: false,
    throttledUntil: [],
    throttle(count, retryAfterSeconds) {
      gate.throttleLeft = count;
      gate.throttleSeconds = retryAfterSeconds;
    },
    reportStatus: (sid, status, errorCode) => reportStatus(fake, sid, status, errorCode),
  };
  return fake;
}

/** What the fake keeps to itself: the expected Authorization and the throttle the tests set. */
interface TwilioGate {
  expectedAuth: string;
  throttleLeft: number;
  throttleSeconds: number;
  autoDeliver: boolean | undefined;
}

function fail(response: ServerResponse, status: number, code: number, message: string, headers = {}) {
  return sendJson(
    response,
    status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    headers,
  );
}

function handle(fake: TwilioFake, gate: TwilioGate, request: IncomingMessage, body: Buffer, response: ServerResponse) {
  if (fake.down) return fail(response, 503, 20503, 'Service unavailable');
  if (refusedRequest(fake, gate, request, response)) return;
  const form = new URLSearchParams(body.toString('utf8'));
  const to = form.get('To') ?? '';
  const invalid = invalidFields(form);
  if (invalid) {
    fake.refused.push(`validation ${invalid[0]}`);
    return fail(response, 400, invalid[0] as number, invalid[1] as string);
  }
  if (fake.stopped.has(to)) return fail(response, 400, 21610, 'Attempt to send to unsubscribed recipient');
  accept(fake, gate, form, response);
}

/** Answers a request Twilio would turn away before reading its fields (route, auth, body type, throttle). */
function refusedRequest(fake: TwilioFake, gate: TwilioGate, request: IncomingMessage, response: ServerResponse) {
  const path = new URL(request.url ?? '/', 'http://local').pathname;
  if (request.method !== 'POST' || path !== `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`) {
    fake.refused.push(`route ${request.method} ${path}`);
    fail(response, 404, 20404, 'The requested resource was not found');
    return true;
  }
  if (request.headers.authorization !== gate.expectedAuth) {
    fake.refused.push('auth');
    fail(response, 401, 20003, 'Authenticate');
    return true;
  }
  if (!String(request.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
    fake.refused.push('content-type');
    fail(response, 400, 20001, 'Expected a form-encoded body');
    return true;
  }
  if (gate.throttleLeft > 0) {
    gate.throttleLeft--;
    fake.throttledUntil.push(Date.now() + gate.throttleSeconds * 1000);
    fail(response, 429, 20429, 'Too Many Requests', { 'retry-after': String(gate.throttleSeconds) });
    return true;
  }
  return false;
}

/** Twilio's error code and message for the first field it would refuse, or null. */
function invalidFields(form: URLSearchParams): (string | number)[] | null {
  const to = form.get('To') ?? '';
  const from = form.get('From');
  const service = form.get('MessagingServiceSid');
  const text = form.get('Body') ?? '';
  const callback = form.get('StatusCallback');
  return !e164.test(to)
    ? [21211, `The 'To' number ${to} is not a valid phone number.`]
    : (from === null) === (service === null)
      ? [21603, "Exactly one of 'From' or 'MessagingServiceSid' is required."]
      : service !== null && !service.startsWith('MG')
        ? [21701, 'The Messaging Service Sid is invalid.']
        : text === ''
          ? [21602, 'Message body is required.']
          : text.length > 1600
            ? [21617, 'The concatenated message body exceeds the 1600 character limit.']
            : callback !== null && !URL.canParse(callback)
              ? [21609, 'Invalid StatusCallback URL']
              : null;
}

function accept(fake: TwilioFake, gate: TwilioGate, form: URLSearchParams, response: ServerResponse) {
  const to = form.get('To') ?? '';
  const from = form.get('From');
  const service = form.get('MessagingServiceSid');
  const text = form.get('Body') ?? '';
  const callback = form.get('StatusCallback');
  const sid = `SM${randomBytes(16).toString('hex')}`;
  const validity = form.get('ValidityPeriod');
  fake.received.push({
    sid,
    to,
    from,
    messagingServiceSid: service,
    body: text,
    statusCallback: callback,
    validityPeriod: validity === null ? null : Number(validity),
    receivedAt: Date.now(),
  });
  if (gate.autoDeliver && callback !== null) {
    // After the 201, as Twilio does; a facade that is not up yet only loses the demo's receipt.
    setImmediate(() =>
      fake.reportStatus(sid, 'delivered').then(
        (answer) => answer.body?.cancel(),
        () => undefined,
      ),
    );
  }
  sendJson(response, 201, {
    sid,
    account_sid: fake.accountSid,
    to,
    from,
    messaging_service_sid: service,
    body: text,
    status: 'queued',
    num_segments: '1',
    direction: 'outbound-api',
    date_created: new Date().toUTCString(),
    uri: `/2010-04-01/Accounts/${fake.accountSid}/Messages/${sid}.json`,
  });
}

/** A status callback for a received message, signed with the auth token as Twilio signs it. */
async function reportStatus(
  fake: TwilioFake,
  sid: string,
  status: Parameters<TwilioFake['reportStatus']>[1],
  errorCode?: string,
): Promise<Response> {
  const message = fake.received.find((candidate) => candidate.sid === sid);
  if (!message?.statusCallback) throw new Error(`no message ${sid} with a status callback`);
  const params: Record<string, string> = {
    AccountSid: fake.accountSid,
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    To: message.to,
    From: message.from ?? '+15550000000',
    ApiVersion: '2010-04-01',
    ...(errorCode ? { ErrorCode: errorCode } : {}),
  };
  const signature = twilio.getExpectedTwilioSignature(fake.authToken, message.statusCallback, params);
  return fetch(message.statusCallback, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body: new URLSearchParams(params),
  });
}
