import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { StackError } from './errors.ts';
import { findMaven } from './java.ts';

/**
 * Resolves a server's jars from Maven Central into the cache (outside the repository). A marker
 * file records a complete resolution, so later runs start from the cache without Maven.
 */
export type Artifact = { kind: 'dependencies'; pom: string } | { kind: 'archive'; coordinates: string };

export async function resolveArtifact(
  name: string,
  artifact: Artifact,
  targetDir: string,
  report: (line: string) => void,
): Promise<void> {
  const marker = join(targetDir, '.resolved');
  if (existsSync(marker)) return;
  const mvn = findMaven();
  rmSync(targetDir, { recursive: true, force: true });
  mkdirSync(targetDir, { recursive: true });
  const args =
    artifact.kind === 'dependencies'
      ? ['-B', '-f', artifact.pom, 'dependency:copy-dependencies', `-DoutputDirectory=${join(targetDir, 'lib')}`]
      : ['-B', 'dependency:unpack', `-Dartifact=${artifact.coordinates}`, `-DoutputDirectory=${targetDir}`];
  report(`${name}: resolving from Maven Central into ${targetDir}`);
  const child = spawn(mvn, args, { cwd: targetDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let downloaded = 0;
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      const match = /Downloaded from \S+: \S+\/([^/]+) \(([^)]+)\)/.exec(line);
      if (match) {
        downloaded += 1;
        if (downloaded % 25 === 1) {
          report(`${name}: downloaded ${downloaded} files, latest ${match[1]} (${match[2]})`);
        }
      }
    });
  }
  const code = await new Promise<number>((resolvePromise) =>
    child.on('close', (status) => resolvePromise(status ?? 1)),
  );
  if (code !== 0) {
    throw new StackError(
      'ERR_RESOLVE',
      `${name}: Maven could not resolve the server's jars (exit ${code}). Last lines:\n${tail.join('\n')}`,
    );
  }
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  report(`${name}: resolved (${downloaded} files downloaded)`);
}
