import avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../pipeline/config/index.ts';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { createSerde, registerSchemas, schemaIdOf, subjectOf } from '../../pipeline/serde/index.ts';
import { createRegistryClient, registerSubject } from '../../pipeline/serde/registry.ts';
import { topicName, topology } from '../../pipeline/topics/index.ts';
import { fullExamples } from '../../schemas/examples.ts';
import { avroTypeOptions, schemaJson } from '../../schemas/index.ts';
import { deleteSubjects, registryGet, registryPostVersion, uniqueConfig } from './support.ts';

let config: Config;
let ids: Map<string, number>;

beforeAll(async () => {
  config = uniqueConfig();
  ids = await registerSchemas(config);
});

afterAll(async () => {
  await deleteSubjects(config);
});

const schemaTopics = () => topology.filter((spec) => spec.schema !== null);

describe('schemas in the registry', () => {
  it('registers one subject per Avro topic, with the ids the registry assigned', async () => {
    expect(ids.size).toBe(schemaTopics().length);
    for (const spec of schemaTopics()) {
      const subject = subjectOf(topicName(config, spec.name));
      const { status, body } = await registryGet(config, `/subjects/${encodeURIComponent(subject)}/versions/latest`);
      expect(status, subject).toBe(200);
      const latest = body as { id: number; schema: string };
      expect(ids.get(subject)).toBe(latest.id);
      expect(JSON.parse(latest.schema)).toEqual(JSON.parse(schemaJson(spec.schema!)));
    }
  });

  it('enforces BACKWARD compatibility on every subject', async () => {
    for (const subject of ids.keys()) {
      const { body } = await registryGet(config, `/config/${encodeURIComponent(subject)}`);
      expect(body, subject).toEqual({ compatibilityLevel: 'BACKWARD' });
    }
  });

  it('registers idempotently: the same schemas keep their ids', async () => {
    expect(await registerSchemas(config)).toEqual(ids);
  });

  describe('evolution', () => {
    const subject = () => subjectOf(topicName(config, 'ingest'));
    const current = () => JSON.parse(schemaJson('dev.msgxc.IngestRequest'));

    it('refuses a new required field without a default (409)', async () => {
      const breaking = current();
      breaking.fields.push({ name: 'tenant', type: 'string', doc: 'required, no default' });
      const { status } = await registryPostVersion(config, subject(), breaking);
      expect(status).toBe(409);

      const refused = await registerSubject(
        config,
        createRegistryClient(config),
        subject(),
        JSON.stringify(breaking),
      ).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(MsgxcError);
      expect((refused as MsgxcError).code).toBe('SCHEMA_INCOMPATIBLE');
      expect((refused as MsgxcError).retriable).toBe(false);
    });

    it('refuses a changed field type (409)', async () => {
      const breaking = current();
      const field = breaking.fields.find((f: { name: string }) => f.name === 'requestId');
      field.type = 'long';
      expect((await registryPostVersion(config, subject(), breaking)).status).toBe(409);
    });

    it('accepts a new optional field with a default as a new version', async () => {
      const compatible = current();
      compatible.fields.push({ name: 'tenant', type: ['null', 'string'], default: null, doc: 'added later' });
      const { status, body } = await registryPostVersion(config, subject(), compatible);
      expect(status).toBe(200);
      expect(body.id).not.toBe(ids.get(subject()));
      const versions = await registryGet(config, `/subjects/${encodeURIComponent(subject())}/versions`);
      expect(versions.body).toHaveLength(2);

      // A producer still on the current schema keeps its own version's id …
      const serde = createSerde(config);
      const bytes = await serde.encode('ingest', fullExamples['dev.msgxc.IngestRequest']);
      expect(schemaIdOf(bytes)).toBe(ids.get(subject()));

      // … and a record from the newer writer decodes into the local schema (the extra field dropped).
      const newer = avro.Type.forSchema(compatible, avroTypeOptions());
      const written = newer.toBuffer({ ...fullExamples['dev.msgxc.IngestRequest'], tenant: 'acme' });
      const wire = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), written]);
      wire.writeInt32BE(body.id as number, 1);
      expect(await serde.decode(wire)).toEqual(fullExamples['dev.msgxc.IngestRequest']);
    });
  });

  it('reads a record written with an older schema version, filling the newer fields with defaults', async () => {
    // A subject of this run only, whose first version predates CheckIn's userAgent and gatewayId.
    const subject = subjectOf(topicName(config, 'checkins'));
    const older = JSON.parse(schemaJson('dev.msgxc.CheckIn'));
    older.fields = older.fields.filter((f: { name: string }) => !['userAgent', 'gatewayId'].includes(f.name));
    const oldSubject = `${subject}-older`;
    const oldId = await registerSubject(config, createRegistryClient(config), oldSubject, JSON.stringify(older));

    const writer = avro.Type.forSchema(older, avroTypeOptions());
    const { userAgent: _userAgent, gatewayId: _gatewayId, ...oldValue } = fullExamples['dev.msgxc.CheckIn'];
    const wire = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), writer.toBuffer(oldValue)]);
    wire.writeInt32BE(oldId, 1);

    const decoded = await createSerde(config).decode(wire);
    expect(decoded).toEqual({ ...oldValue, userAgent: null, gatewayId: null });
  });
});

describe('serde failures', () => {
  it('refuses a value that does not fit its topic schema, naming the field, permanently', async () => {
    const serde = createSerde(config);
    const bad = { ...fullExamples['dev.msgxc.DeliveryEvent'], channel: 'pigeon' };
    const error = await serde.encode('events', bad).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MsgxcError);
    expect(error).toMatchObject({ code: 'SCHEMA_VIOLATION', retriable: false, details: { path: 'channel' } });
  });

  it('refuses bytes that are not in wire format, and unknown schema ids, permanently', async () => {
    const serde = createSerde(config);
    for (const bytes of [
      Buffer.from('{"json":true}'),
      Buffer.from([0, 1]),
      Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2]),
    ]) {
      const error = await serde.decode(bytes).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: 'UNDECODABLE', retriable: false });
    }
  });

  it('reports an unreachable registry as retriable', async () => {
    const unreachable = { ...config, registry: { url: 'http://127.0.0.1:9/apis/ccompat/v7' } };
    const serde = createSerde(unreachable);
    const error = await serde.encode('ingest', fullExamples['dev.msgxc.IngestRequest']).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retriable: true });
  });
});
