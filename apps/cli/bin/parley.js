#!/usr/bin/env node
// The `parley` command: loads the TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
// Exit explicitly: a finished command must not linger on idle sockets or timers.
process.exit(await main(process.argv.slice(2)));
