#!/usr/bin/env node
// The flowlab command. Runs the TypeScript sources directly (through tsx), so there is no build
// step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli/main.ts');
const code = await main(process.argv.slice(2));
if (code !== undefined) {
  process.exitCode = code;
  // Idle Docker connections must not keep a finished command alive.
  setTimeout(() => process.exit(code), 50).unref();
}
