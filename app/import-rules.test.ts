import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The import rules of .dependency-cruiser.cjs (run by `npm run check`) must catch what they name: this
 * builds a small tree that breaks each rule once and runs the same command on it.
 */
const projectRoot = join(import.meta.dirname, '..');
const workdir = mkdtempSync(join(tmpdir(), 'msgxc-import-rules-'));
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

function file(path: string, text: string): void {
  mkdirSync(dirname(join(workdir, path)), { recursive: true });
  writeFileSync(join(workdir, path), text);
}

function cruise(...folders: string[]): { code: number; output: string } {
  const bin = join(projectRoot, 'node_modules', '.bin', 'depcruise');
  const args = [...folders, '--config', join(projectRoot, '.dependency-cruiser.cjs'), '--output-type', 'err'];
  try {
    return { code: 0, output: execFileSync(bin, args, { cwd: workdir, encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { code: failed.status, output: `${failed.stdout}${failed.stderr}` };
  }
}

describe('import rules', () => {
  it('refuse a stage importing another stage, pipeline importing stages, stack or app, and bench or production importing tests', () => {
    file('stages/ack/handler.ts', "import { lanes } from '../fanout/lanes.ts';
\nexport const used = lanes;\n");
    file('stages/fanout/lanes.ts', 'export const lanes = 3;\n');
    file('pipeline/runtime/runner.ts', "import { used } from '../../stages/ack/handler.ts';
\nexport const x = used;\n");
    file('pipeline/config/stack.ts', "import { up } from '../../stack/index.ts';
\nexport const y = up;\n");
    file('stack/index.ts', 'export const up = 1;\n');
    file('test/support/helper.ts', 'export const help = 1;\n');
    file('bench/flow.ts', "import { help } from '../test/support/helper.ts';
\nexport const z = help;\n");
    file('stages/http/deps.ts', "import { help } from '../../test/support/helper.ts';
\nexport const w = help;\n");
    const { code, output } = cruise('stages', 'pipeline', 'stack', 'bench', 'test');
    expect(code).not.toBe(0);
    expect(output).toContain('stage-imports-another-stage: stages/ack/handler.ts → stages/fanout/lanes.ts');
    expect(output).toContain(
      'pipeline-imports-stages-stack-or-app: pipeline/runtime/runner.ts → stages/ack/handler.ts',
    );
    expect(output).toContain('pipeline-imports-stages-stack-or-app: pipeline/config/stack.ts → stack/index.ts');
    expect(output).toContain('bench-imports-tests: bench/flow.ts → test/support/helper.ts');
    expect(output).toContain('production-imports-tests: stages/http/deps.ts → test/support/helper.ts');
  });

  it('allow a stage to import its own files, pipeline/ and schemas/', () => {
    rmSync(workdir, { recursive: true, force: true });
    file(
      'stages/ack/handler.ts',
      "import { topic } from '../../pipeline/topics/lanes.ts';
\nimport { own } from './own.ts';
\nexport const u = [topic, own];\n",
    );
    file('stages/ack/own.ts', 'export const own = 1;\n');
    file('pipeline/topics/lanes.ts', 'export const topic = "lane.4";\n');
    expect(cruise('stages', 'pipeline').code).toBe(0);
  });
});
