import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AwsCredentials, verifySigV4 } from './aws-sigv4.ts';
import { listen, type ProviderServer, rateGate, sendJson } from './http.ts';

/**
 * A local Amazon SES v2 (`POST /v2/email/outbound-emails`, REST-JSON), SigV4-verified, with the account's
 * `MaxSendRate` enforced (429 TooManyRequestsException past it). It checks a simple message the way SES
 * does (a sender, 1–50 recipients, a subject, a text or HTML body, header names and values) and keeps it.
 * Addresses in `rejected` answer MessageRejected; `down` answers 503.
 */

export interface SesEmail {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string | null;
  html: string | null;
  headers: Record<string, string>;
  configurationSet: string | null;
  tags: Record<string, string>;
  receivedAt: number;
}

export interface SesFake extends ProviderServer {
  credentials: AwsCredentials;
  emails: SesEmail[];
  refused: string[];
  rejected: Set<string>;
  down: boolean;
  /** Requests answered 429 because the send rate was exceeded. */
  throttled: number;
}

interface SimpleBody {
  FromEmailAddress?: string;
  Destination?: { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
  ConfigurationSetName?: string;
  EmailTags?: { Name: string; Value: string }[];
  Content?: {
    Simple?: {
      Subject?: { Data?: string };
      Body?: { Text?: { Data?: string }; Html?: { Data?: string } };
      Headers?: { Name: string; Value: string }[];
    };
  };
}

const tagPattern = /^[A-Za-z0-9_-]{1,256}$/;

export async function startSesFake(
  options: { credentials?: AwsCredentials; maxSendRate?: number; port?: number } = {},
) {
  const credentials = options.credentials ?? {
    accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(20).toString('base64'),
  };
  const gate = rateGate(options.maxSendRate ?? 14);
  const emails: SesEmail[] = [];
  const refused: string[] = [];
  const rejected = new Set<string>();

  const error = (response: ServerResponse, status: number, type: string, message: string) =>
    sendJson(response, status, { message }, { 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() });

  function handle(request: IncomingMessage, body: Buffer, response: ServerResponse) {
    if (fake.down) return error(response, 503, 'ServiceUnavailable', 'Service unavailable');
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (request.method !== 'POST' || path !== '/v2/email/outbound-emails') {
      return error(response, 404, 'NotFoundException', `no route ${request.method} ${path}`);
    }
    const check = verifySigV4(request, body, 'ses', credentials);
    if (!check.ok) {
      refused.push(`auth: ${check.reason}`);
      return error(response, 403, 'SignatureDoesNotMatch', check.reason);
    }
    if (!gate.take()) {
      fake.throttled++;
      return error(response, 429, 'TooManyRequestsException', 'Maximum sending rate exceeded.');
    }
    const input = JSON.parse(body.toString('utf8')) as SimpleBody;
    const problem = validate(input);
    if (problem) {
      refused.push(`validation: ${problem}`);
      return error(response, 400, 'BadRequestException', problem);
    }
    const simple = input.Content!.Simple!;
    const to = input.Destination!.ToAddresses!;
    const bad = to.find((address) => rejected.has(address));
    if (bad) return error(response, 400, 'MessageRejected', `Email address is not verified: ${bad}`);
    const messageId = `0100${randomBytes(8).toString('hex')}-${randomUUID()}-000000`;
    emails.push({
      messageId,
      from: input.FromEmailAddress!,
      to,
      subject: simple.Subject!.Data!,
      text: simple.Body?.Text?.Data ?? null,
      html: simple.Body?.Html?.Data ?? null,
      headers: Object.fromEntries((simple.Headers ?? []).map(({ Name, Value }) => [Name, Value])),
      configurationSet: input.ConfigurationSetName ?? null,
      tags: Object.fromEntries((input.EmailTags ?? []).map(({ Name, Value }) => [Name, Value])),
      receivedAt: Date.now(),
    });
    sendJson(response, 200, { MessageId: messageId });
  }

  const server = await listen(handle, options.port);
  const fake: SesFake = { ...server, credentials, emails, refused, rejected, down: false, throttled: 0 };
  return fake;
}

function validate(input: SimpleBody): string | null {
  if (!input.FromEmailAddress?.includes('@')) return 'FromEmailAddress is required';
  const to = input.Destination?.ToAddresses ?? [];
  const all =
    to.length + (input.Destination?.CcAddresses?.length ?? 0) + (input.Destination?.BccAddresses?.length ?? 0);
  if (all === 0 || all > 50) return 'between 1 and 50 recipients are required';
  if (to.some((address) => !/^[^@\s]+@[^@\s]+$/.test(address))) return 'a recipient address is invalid';
  const simple = input.Content?.Simple;
  if (!simple) return 'Content.Simple is required';
  if (!simple.Subject?.Data) return 'Subject is required';
  if (!simple.Body?.Text?.Data && !simple.Body?.Html?.Data) return 'a Text or Html body is required';
  for (const header of simple.Headers ?? []) {
    if (!/^[!-9;-~]+$/.test(header.Name) || /[\r\n]/.test(header.Value)) return `header ${header.Name} is invalid`;
  }
  for (const tag of input.EmailTags ?? []) {
    if (!tagPattern.test(tag.Name) || !tagPattern.test(tag.Value)) return `tag ${tag.Name} is invalid`;
  }
  return null;
}
