import { join } from 'node:path';

const stackDir = join(import.meta.dirname, '..');

/** A file under stack/maven (poms) or, with `../conf/…`, under stack/conf. */
export const maven = (file: string) => join(stackDir, 'maven', file);
export const conf = (file: string) => join(stackDir, 'conf', file);
