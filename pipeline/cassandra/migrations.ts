import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MsgxcError } from '../errors/index.ts';

export interface Migration {
  version: number;
  name: string;
  file: string;
  /** sha256 of the file with line endings normalised, so a CRLF checkout is not "a changed file". */
  checksum: string;
  statements: string[];
}

export const defaultMigrationsDirectory = join(import.meta.dirname, 'migrations');

const fileNamePattern = /^(\d{3,})_([a-z0-9_]+)\.cql$/;

/** Reads `NNN_name.cql` files in version order; anything else in the folder is ignored. */
export async function loadMigrations(directory = defaultMigrationsDirectory): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => fileNamePattern.test(file));
  const migrations: Migration[] = [];
  for (const file of files) {
    const [, digits, name] = fileNamePattern.exec(file) as RegExpExecArray;
    const text = (await readFile(join(directory, file), 'utf8')).replaceAll('\r\n', '\n');
    const statements = splitStatements(text);
    if (statements.length === 0) {
      throw new MsgxcError('MIGRATION_EMPTY', `migration ${file} holds no statement`);
    }
    migrations.push({
      version: Number(digits),
      name: name as string,
      file,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements,
    });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let index = 1; index < migrations.length; index += 1) {
    const previous = migrations[index - 1] as Migration;
    const current = migrations[index] as Migration;
    if (previous.version === current.version) {
      throw new MsgxcError(
        'MIGRATION_DUPLICATE_VERSION',
        `migrations ${previous.file} and ${current.file} share version ${current.version}`,
      );
    }
  }
  return migrations;
}

/**
 * Splits a CQL script on the semicolons that end statements, leaving out comments (`--`, `//`,
 * `/* *\/`) and ignoring semicolons inside quoted strings, quoted names and `$$` function bodies.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let index = 0;
  const flush = () => {
    const statement = current.trim();
    if (statement !== '') statements.push(statement);
    current = '';
  };
  while (index < script.length) {
    const char = script[index] as string;
    const pair = script.slice(index, index + 2);
    if (pair === '--' || pair === '//') {
      const end = script.indexOf('\n', index);
      index = end === -1 ? script.length : end;
      continue;
    }
    if (pair === '/*') {
      const end = script.indexOf('*/', index + 2);
      if (end === -1) throw new MsgxcError('MIGRATION_SYNTAX', 'unterminated /* comment');
      index = end + 2;
      current += ' ';
      continue;
    }
    if (pair === '$$' || char === "'" || char === '"') {
      const quote = pair === '$$' ? '$$' : char;
      const end = findClosingQuote(script, index + quote.length, quote);
      current += script.slice(index, end + quote.length);
      index = end + quote.length;
      continue;
    }
    if (char === ';') {
      flush();
      index += 1;
      continue;
    }
    current += char;
    index += 1;
  }
  flush();
  return statements;
}

/** Finds where a quoted run ends; a doubled quote ('' or "") is an escaped quote, not the end. */
function findClosingQuote(script: string, from: number, quote: string): number {
  let index = from;
  while (index < script.length) {
    const end = script.indexOf(quote, index);
    if (end === -1) break;
    if (quote !== '$$' && script[end + 1] === quote) {
      index = end + 2;
      continue;
    }
    return end;
  }
  throw new MsgxcError('MIGRATION_SYNTAX', `unterminated ${quote} quote`);
}
