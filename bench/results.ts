/**
 * Figures a benchmark reports for `npm run bench -- all`: each bench prints its human-readable lines as it
 * likes and, for every figure that has a goal, one machine-readable line through `reportFigure`, so the
 * `all` runner can collect runs and write bench/RESULTS.md without parsing prose.
 */
export interface BenchFigure {
  bench: string;
  /** What was measured, e.g. "pass-through stage throughput". */
  figure: string;
  value: number;
  unit: string;
  /** The raw baseline measured in the same run, when there is one. */
  baseline?: { name: string; value: number; unit: string };
  /** The figure against its baseline, as the goal states it (a quotient, or a difference for latencies). */
  ratio?: number;
  /** The goal in words, e.g. "≥ 0.6" or "p99 ≤ raw + 30 ms". */
  goal?: string;
  /** Whether this run met the goal. */
  met?: boolean;
  /** Which way the figure improves, where no goal says (an informational latency is better lower). */
  better?: 'higher' | 'lower';
}

export const resultPrefix = 'BENCH-RESULT ';

export function reportFigure(figure: BenchFigure): void {
  console.log(`${resultPrefix}${JSON.stringify(figure)}`);
}

export function parseFigures(output: string): BenchFigure[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith(resultPrefix))
    .map((line) => JSON.parse(line.slice(resultPrefix.length)) as BenchFigure);
}
