import { type Logger, pino } from 'pino';
import type { Config } from '../config/index.ts';

export type { Logger };

/** Paths pino blanks out wherever they appear, so tokens and secrets never reach a log line. */
export const redactedPaths = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'keys',
  '*.keys',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'jwt',
  '*.jwt',
];

export function createLogger(config: Pick<Config, 'logLevel'>, name: string): Logger {
  return pino({
    name,
    level: config.logLevel,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    base: { pid: process.pid },
  });
}
