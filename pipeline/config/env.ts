import { resolve } from 'node:path';
import { z } from 'zod';

/** Value types shared by the areas' variables: every variable arrives as a string. */

export const port = z.coerce.number().int().min(1).max(65535);

/** A comma-separated list with blanks dropped; present means at least one item. */
export const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));

export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const projectRoot = resolve(import.meta.dirname, '..', '..');
