/**
 * A progress bar on stderr for long admin commands. On a terminal it redraws one line (at most ten
 * times a second); in a log file it writes a line per tenth of the way instead of a wall of `\r`.
 */
export interface ProgressBar {
  update(done: number, total: number): void;
  finish(): void;
}

export function createProgressBar(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = Date.now,
): ProgressBar {
  const started = now();
  const width = 30;
  let lastDraw = 0;
  let lastTenth = -1;
  let line = '';

  function render(done: number, total: number): string {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * width);
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const rate = done / seconds;
    const eta = rate > 0 && total > done ? `, ${Math.ceil((total - done) / rate)}s left` : '';
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    return `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done}/${total} (${Math.round(rate)}/s${eta})`;
  }

  return {
    update(done, total) {
      line = render(done, total);
      if (stream.isTTY) {
        if (now() - lastDraw < 100 && done < total) return;
        lastDraw = now();
        stream.write(`\r${line}\u001b[K`);
        return;
      }
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        stream.write(`${line}\n`);
      }
    },
    finish() {
      if (stream.isTTY && line) stream.write(`\r${line}\u001b[K\n`);
    },
  };
}
