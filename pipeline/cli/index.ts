import type { Config } from '../config/index.ts';

/**
 * `msgxc <command> [args]`. Each command lives in its own module, loaded only when run, and
 * exports `run(config, args)` returning the process exit code.
 */
export interface Command {
  summary: string;
  load: () => Promise<{ run: (config: Config, args: string[]) => Promise<number> }>;
}

export const commands: Record<string, Command> = {
  start: {
    summary: 'bring the local stack up (unless clusters are configured) and run the system',
    load: () => import('./start.ts'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'usage: msgxc <command> [args]',
    '',
    ...Object.entries(commands).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
  ].join('\n');
}
