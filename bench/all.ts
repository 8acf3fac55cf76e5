import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../pipeline/config/index.ts';
import { parseCpuSpeeds, type RunSpeed, speedMarkdown } from './harness/cpu-speed.ts';
import { type BenchFigure, parseFigures } from './results.ts';

/**
 * `npm run bench -- all [runs=3] [only=a,b]`: every benchmark, `runs` times each (one process per run,
 * so no run inherits another's warm caches or garbage), then bench/RESULTS.md — each figure's median and
 * worst run, the spread, its raw baseline, the ratio and the goal, with the date, the machine and the commit.
 * The goals are judged at the median and at the worst run: a figure that holds only on a quiet run does not hold.
 */
const benches = ['runtime', 'audience', 'flow-fanout', 'gateway', 'api', 'flow'];
const projectRoot = join(import.meta.dirname, '..');

function runOnce(name: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--experimental-strip-types', '--no-warnings=ExperimentalWarning', 'bench/index.ts', name, ...args],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const fmt = (value: number | undefined) =>
  value === undefined ? '—' : Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-GB') : value.toFixed(2);

/** The worst run is the one whose ratio (or value, without a ratio) is furthest from the goal's side. */
function worstOf(runs: BenchFigure[]): BenchFigure {
  const failing = runs.filter((run) => run.met === false);
  const pool = failing.length > 0 ? failing : runs;
  const key = (run: BenchFigure) => run.ratio ?? run.value;
  // A goal of the form "≤ x" or "< x" is met by low values, so its worst run is the highest one.
  const better = pool[0]?.better ?? (/[≤<]/.test(pool[0]?.goal ?? '') ? 'lower' : 'higher');
  const lowerIsWorse = better === 'higher';
  return [...pool].sort((a, b) => (lowerIsWorse ? key(a) - key(b) : key(b) - key(a)))[0]!;
}

export function resultsMarkdown(byFigure: Map<string, BenchFigure[]>, runs: number, speeds: RunSpeed[] = []): string {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench -- all\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit},`,
    `on ${cpus().length} cores and ${Math.round(totalmem() / 2 ** 30)} GiB; ${runs} run(s) per bench, each in its own process.`,
    'Every figure is beside its raw baseline from the same run; goals are judged at the median AND the worst run.',
    '',
    '| bench | figure | median | worst | spread | raw baseline (median) | ratio median / worst | goal | met (median / worst) |',
    '| --- | --- | ---: | ---: | --- | ---: | --- | --- | --- |',
  ];
  for (const [key, figures] of byFigure) {
    const [bench, figure] = key.split('\u0000');
    const values = figures.map((f) => f.value);
    const worst = worstOf(figures);
    const ratios = figures.map((f) => f.ratio).filter((r): r is number => r !== undefined);
    const baselines = figures.map((f) => f.baseline?.value).filter((v): v is number => v !== undefined);
    const unit = figures[0]!.unit;
    const baseline = figures[0]!.baseline;
    const judged = figures.filter((f) => f.met !== undefined);
    const metMedian = judged.length > 0 ? judged.filter((f) => f.met).length * 2 > judged.length : undefined;
    lines.push(
      `| ${bench} | ${figure}${figures.length < runs ? ` (${figures.length} of ${runs} runs gave a figure)` : ''} | ${fmt(median(values))} ${unit} | ${fmt(worst.value)} ${unit} | ${fmt(Math.min(...values))}–${fmt(Math.max(...values))} | ${
        baseline ? `${fmt(median(baselines))} ${baseline.unit} (${baseline.name})` : '—'
      } | ${ratios.length ? `${fmt(median(ratios))} / ${fmt(worst.ratio)}` : '—'} | ${figures[0]!.goal ?? '—'} | ${
        metMedian === undefined ? '—' : `${metMedian ? 'yes' : 'no'} / ${worst.met ? 'yes' : 'no'}`
      } |`,
    );
  }
  lines.push(...speedMarkdown(speeds));
  return `${lines.join('\n')}\n`;
}

const quoteStart = '<!-- bench/RESULTS.md: written by `npm run bench -- all`, do not edit by hand -->';
const quoteEnd = '<!-- end of bench/RESULTS.md -->';

/** README quotes RESULTS.md between two markers, so its figures are never copied by hand. */
export function quoteInReadme(readme: string, results: string): string {
  const start = readme.indexOf(quoteStart);
  const end = readme.indexOf(quoteEnd);
  if (start < 0 || end < start) throw new Error('README.md has lost the markers that quote bench/RESULTS.md');
  // RESULTS.md's own title would break README's outline; the rest is quoted as it is.
  const body = results.replace(/^# .*\n+/, '').trim();
  return `${readme.slice(0, start + quoteStart.length)}\n${body}\n${readme.slice(end)}`;
}

export async function run(_config: Config, args: string[]): Promise<number> {
  const runs = Number(args.find((arg) => arg.startsWith('runs='))?.slice(5) ?? 3);
  const only = args
    .find((arg) => arg.startsWith('only='))
    ?.slice(5)
    .split(',');
  const passOn = args.filter((arg) => !arg.startsWith('runs=') && !arg.startsWith('only='));
  const byFigure = new Map<string, BenchFigure[]>();
  const speeds: RunSpeed[] = [];
  let failures = 0;
  for (const name of benches.filter((bench) => !only || only.includes(bench))) {
    for (let round = 1; round <= runs; round++) {
      console.log(`\n=== ${name}, run ${round}/${runs} ===`);
      const { code, output } = await runOnce(name, passOn);
      if (code !== 0) failures++;
      speeds.push({ bench: name, round, ...parseCpuSpeeds(output) });
      for (const figure of parseFigures(output)) {
        const key = `${figure.bench}\u0000${figure.figure}`;
        byFigure.set(key, [...(byFigure.get(key) ?? []), figure]);
      }
    }
  }
  const markdown = resultsMarkdown(byFigure, runs, speeds);
  writeFileSync(join(projectRoot, 'bench', 'RESULTS.md'), markdown);
  const readme = join(projectRoot, 'README.md');
  writeFileSync(readme, quoteInReadme(readFileSync(readme, 'utf8'), markdown));
  console.log(`\n${markdown}\nwrote bench/RESULTS.md and its quote in README.md`);
  return failures === 0 ? 0 : 1;
}
