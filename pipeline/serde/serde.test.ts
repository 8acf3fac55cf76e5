import { describe, expect, it } from 'vitest';
import { fullExamples } from '../../schemas/examples.ts';
import { parseConfig } from '../config/index.ts';
import { MsgxcError } from '../errors/index.ts';
import { createSerde, schemaIdOf } from './index.ts';
import { registryError } from './registry.ts';

// Nothing listens here: every case below must fail before or without asking the registry.
const config = parseConfig({ MSGXC_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7' });
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe('serde without a registry', () => {
  it('reads the schema id of wire-format bytes', () => {
    expect(schemaIdOf(Buffer.from([0, 0, 0, 1, 2, 9]))).toBe(258);
    expect(schemaIdOf(Buffer.from([1, 0, 0, 1, 2, 9]))).toBeNull();
    expect(schemaIdOf(Buffer.from([0, 0]))).toBeNull();
  });

  it('names every field that does not fit, permanently', async () => {
    const value = { ...fullExamples['dev.msgxc.FanoutJob'], urgency: '4', audience: { kind: 'planet' } };
    const error = await failure(createSerde(config).encode('fanout', value));
    expect(error).toBeInstanceOf(MsgxcError);
    expect(error).toMatchObject({ code: 'SCHEMA_VIOLATION', retriable: false, details: { path: 'audience.kind' } });
    const paths = (error as MsgxcError).details!.violations as { path: string }[];
    expect(paths.map((v) => v.path).sort()).toEqual(['audience.kind', 'urgency']);
  });

  it('refuses text that is not well-formed Unicode, wherever it is', async () => {
    const batch = structuredClone(fullExamples['dev.msgxc.DeliveryBatch']);
    (batch.recipients[1] as { uid: unknown }).uid = 'lone \ud800 surrogate';
    const error = await failure(createSerde(config).encode('deliver.webpush', batch));
    expect(error).toMatchObject({ code: 'ILL_FORMED_TEXT', retriable: false, details: { path: 'recipients.1.uid' } });
    const job = { ...fullExamples['dev.msgxc.FanoutJob'] } as Record<string, unknown>;
    const msg = Object.keys(job).find((key) => typeof job[key] === 'string')!;
    job[msg] = '\udc00';
    expect(await failure(createSerde(config).encode('fanout', job))).toMatchObject({ code: 'ILL_FORMED_TEXT' });
  });

  it('names array elements in the path', async () => {
    const batch = structuredClone(fullExamples['dev.msgxc.DeliveryBatch']);
    (batch.recipients[1] as { uid: unknown }).uid = 42;
    const error = await failure(createSerde(config).encode('deliver.webpush', batch));
    expect(error).toMatchObject({ code: 'SCHEMA_VIOLATION', details: { path: 'recipients.1.uid' } });
  });

  it('refuses topics without a schema', async () => {
    expect(await failure(createSerde(config).encode('triage.lane4.dlq', {}))).toMatchObject({ code: 'NO_SCHEMA' });
    expect(await failure(createSerde(config).encode('nowhere', {}))).toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });

  it('refuses bytes that are not in wire format', async () => {
    const error = await failure(createSerde(config).decode(Buffer.from('{"a":1}')));
    expect(error).toMatchObject({ code: 'UNDECODABLE', retriable: false });
  });

  it('tells refusals (permanent) from outages (retriable)', () => {
    const answered = (status: number, message: string) => Object.assign(new Error(message), { status });
    expect(registryError(answered(409, 'msgxc - Incompatible'), 's', 'registering')).toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      retriable: false,
    });
    expect(registryError(answered(422, 'msgxc - Invalid schema'), 's', 'registering')).toMatchObject({
      code: 'SCHEMA_INVALID',
      retriable: false,
    });
    // mappersmith's shape for a refused connection: status 400 with the socket error as the body.
    const refused = answered(400, 'msgxc - Error, status 400: connect ECONNREFUSED 127.0.0.1:9');
    expect(registryError(refused, 's', 'registering')).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retriable: true });
    expect(registryError(answered(503, 'down'), 's', 'x')).toMatchObject({ retriable: true });
    expect(registryError(new TypeError('fetch failed'), 's', 'x')).toMatchObject({ retriable: true });
  });
});
