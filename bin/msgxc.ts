#!/usr/bin/env -S node --experimental-strip-types --no-warnings=ExperimentalWarning
import { commands, usage } from '../app/index.ts';
import { ConfigError, loadConfig } from '../pipeline/config/index.ts';

const [name, ...args] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  console.error(usage());
  process.exit(name ? 2 : 0);
}
try {
  const config = loadConfig();
  const module = await command.load();
  process.exitCode = await module.run(config, args);
} catch (error) {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(error);
  process.exitCode = 1;
}
