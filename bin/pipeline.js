#!/usr/bin/env node
// `pipeline <command>`: the compiled CLI when dist/ is up to date (see entry-point.js), else the TypeScript
// sources through tsx's loader. Either way there is no build step to forget. The CLI module only exports
// `main`: running it is this file's job, so that importing the module (or the package) runs nothing.
import { pathToFileURL } from 'node:url';
import { entryPoint } from './entry-point.js';

const entry = entryPoint('src/cli/main.ts');
if (entry.problem !== undefined) {
  process.stderr.write(`error: ${entry.problem}\n`);
  process.exit(1);
}
if (entry.warning !== undefined) process.stderr.write(`warning: ${entry.warning}\n`);
if (entry.execArgv.length > 0) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { main } = await import(pathToFileURL(entry.path).href);
process.exitCode = await main(process.argv.slice(2));
