import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quoteInReadme, resultsMarkdown } from './all.ts';
import type { BenchFigure } from './results.ts';

const runs = (figure: Omit<BenchFigure, 'value' | 'ratio' | 'met'>, values: [number, boolean][]) =>
  values.map(
    ([value, met]): BenchFigure => ({ ...figure, value, ...(figure.goal?.includes('≥') ? { ratio: value } : {}), met }),
  );

describe('bench/RESULTS.md', () => {
  it('judges a figure at its median and at its worst run, on the goal’s side', () => {
    const byFigure = new Map([
      [
        'api\u0000ratio',
        runs({ bench: 'api', figure: 'ratio', unit: '×', goal: '≥ 0.7' }, [
          [0.8, true],
          [0.5, false],
          [0.9, true],
        ]),
      ],
      [
        'api\u0000p99',
        runs({ bench: 'api', figure: 'p99', unit: 'ms', goal: '< 20 ms' }, [
          [12, true],
          [30, false],
          [15, true],
        ]),
      ],
    ]);
    // No goal: a figure says which way it improves, and an informational latency's worst run is the highest.
    byFigure.set(
      'api\u0000ceiling p99',
      [40, 1500, 30].map((value) => ({
        bench: 'api',
        figure: 'ceiling p99',
        unit: 'ms',
        value,
        goal: 'informational',
        better: 'lower' as const,
      })),
    );
    byFigure.set(
      'api\u0000ceiling ratio',
      [0.57, 0.45, 0.68].map((value) => ({
        bench: 'api',
        figure: 'ceiling ratio',
        unit: '×',
        value,
        ratio: value,
        goal: 'informational',
      })),
    );
    byFigure.set(
      'flow\u0000p99',
      runs({ bench: 'flow', figure: 'p99', unit: 'ms', goal: '≤ 30 ms' }, [
        [25, true],
        [28, true],
      ]),
    );
    const lines = resultsMarkdown(byFigure, 3).split('\n');
    // A run that crashed gave no figure: the row says how many did, rather than passing two runs for three.
    expect(lines.find((line) => line.startsWith('| flow |'))).toContain('| flow | p99 (2 of 3 runs gave a figure) |');
    const ratio = lines.find((line) => line.startsWith('| api | ratio'))!;
    const p99 = lines.find((line) => line.startsWith('| api | p99'))!;
    // Higher is better for "≥": the worst run is the lowest; most runs met the goal, the worst did not.
    expect(ratio).toContain('| 0.80 × | 0.50 × |');
    expect(ratio).toContain('| yes / no |');
    // Lower is better for "<": the worst run is the highest.
    expect(p99).toContain('| 15.00 ms | 30.00 ms |');
    expect(p99).toContain('| yes / no |');
    const ceilingP99 = lines.find((line) => line.startsWith('| api | ceiling p99'))!;
    expect(ceilingP99).toContain('| 40.00 ms | 1,500 ms |');
    expect(ceilingP99).toContain('| informational | — |');
    // Without `better`, a figure with no goal is better higher, as a ratio is.
    expect(lines.find((line) => line.startsWith('| api | ceiling ratio'))).toContain('| 0.57 × | 0.45 × |');
  });

  it('quotes the results in README between its markers, replacing the previous quote', () => {
    const start = '<!-- bench/RESULTS.md: written by `npm run bench -- all`, do not edit by hand -->';
    const end = '<!-- end of bench/RESULTS.md -->';
    const readme = `# msgxc\n\n## Benchmarks\n\n${start}\nold figures\n${end}\n\n## Next\n`;
    const quoted = quoteInReadme(readme, '# Benchmark results\n\nWritten on a day.\n\n| a | b |\n');
    expect(quoted).toBe(`# msgxc\n\n## Benchmarks\n\n${start}\nWritten on a day.\n\n| a | b |\n${end}\n\n## Next\n`);
    expect(quoteInReadme(quoted, '# Benchmark results\n\nnew\n')).toContain(`${start}\nnew\n${end}`);
    expect(() => quoteInReadme('# no markers', 'x')).toThrow(/markers/);
  });

  it('README quotes the bench/RESULTS.md of the repository as it is', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const results = readFileSync(join(import.meta.dirname, 'RESULTS.md'), 'utf8');
    expect(quoteInReadme(readme, results)).toBe(readme);
  });
});
