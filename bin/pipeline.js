#!/usr/bin/env node
// `pipeline <command>`: the compiled CLI when dist/ is up to date (see entry-point.js), else the TypeScript
// sources through tsx's loader. Either way there is no build step to forget.
import { pathToFileURL } from 'node:url';
import { entryPoint } from './entry-point.js';

const entry = entryPoint('src/cli/main.ts');
if (entry.execArgv.length > 0) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(pathToFileURL(entry.path).href);
