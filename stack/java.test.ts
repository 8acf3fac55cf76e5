import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../pipeline/config/index.ts';
import { findJava } from './java.ts';

const homes: string[] = [];

/** A JDK home whose `bin/java` prints a Java 17 banner and refuses the options named in `refused`. */
function fakeJdk(refused: string): string {
  const home = mkdtempSync(join(tmpdir(), 'msgxc-fake-jdk-'));
  homes.push(home);
  const bin = join(home, 'bin');
  const script = [
    '#!/bin/sh',
    `for arg in "$@"; do [ "$arg" = "${refused}" ] && { echo "Unrecognized VM option" >&2; exit 1; }; done`,
    'echo \'openjdk version "17.0.15" 2025-04-15\' >&2',
  ].join('\n');
  mkdirSync(bin);
  writeFileSync(join(bin, 'java'), `${script}\n`);
  chmodSync(join(bin, 'java'), 0o755);
  return home;
}

afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

describe('findJava', () => {
  it('runs the broker on Shenandoah when the JDK has it', () => {
    const stack = parseConfig({ MSGXC_JAVA_HOME: fakeJdk('-XX:+UseNothing') }).stack;
    expect(findJava(stack).lowPauseGc).toEqual(['-XX:+UseShenandoahGC']);
  });

  it('falls back to G1 with a pause goal on a JDK without Shenandoah', () => {
    const stack = parseConfig({ MSGXC_JAVA_HOME: fakeJdk('-XX:+UseShenandoahGC') }).stack;
    expect(findJava(stack).lowPauseGc).toEqual(['-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20']);
  });
});
