import type { Config } from '../config/index.ts';
import { permanent } from '../errors/index.ts';
import type { Codec } from './types.ts';

export type { Codec };

/** The registry-backed Avro serde every production stage speaks; loaded lazily so JSON-only callers skip it. */
export async function createDefaultCodec(config: Config): Promise<Codec> {
  const { createSerde } = await import('../serde/index.ts');
  return createSerde(config);
}

/** Plain JSON for tests and pass-through tools; malformed bytes are a permanent failure. */
export const jsonCodec: Codec = {
  async encode(_topic, value) {
    return Buffer.from(JSON.stringify(value));
  },
  async decode(buffer) {
    try {
      return JSON.parse(buffer.toString('utf8'));
    } catch (error) {
      throw permanent('DECODE_FAILED', `not JSON: ${(error as Error).message}`);
    }
  },
};

/** Bytes in, bytes out: for stages that only move records (and for measuring the runtime itself). */
export const rawCodec: Codec = {
  async encode(_topic, value) {
    if (Buffer.isBuffer(value)) return value;
    throw permanent('ENCODE_FAILED', 'the raw codec only produces Buffer values');
  },
  async decode(buffer) {
    return buffer;
  },
};
