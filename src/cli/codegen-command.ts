import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { projectRoot, schemasDirectory } from '../config.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { GENERATED_TYPES_FILE, renderTypes } from '../contracts/codegen.ts';
import { PipelineError } from '../errors.ts';
import type { Command } from './command.ts';

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export const codegenCommand: Command = {
  usage: 'pipeline codegen [--check]',
  help: [
    'Writes src/contracts/generated/events.ts: one interface per record per schema version (OrderV1, OrderV2…),',
    'the reader version under the plain name (Order), and the TopicEvents / TopicEventsByVersion maps.',
    '',
    '--check  write nothing; exit 4 (CODEGEN_STALE) when the committed file differs from what the catalog',
    '         generates: a CI gate against editing a schema without regenerating.',
    '',
    'Schemas are read from PIPELINE_SCHEMAS_DIR (default schemas/); no service is needed.',
  ].join('\n'),
  options: { check: { type: 'boolean', default: false } },
  async run(args, io) {
    const rendered = renderTypes(loadCatalog(schemasDirectory()));
    const target = relative(projectRoot, GENERATED_TYPES_FILE);
    const current = readIfExists(GENERATED_TYPES_FILE);
    if (args.values.check) {
      if (current !== rendered) {
        throw new PipelineError(
          'CODEGEN_STALE',
          `${target} ${current === undefined ? 'is missing' : 'is out of date'}: run \`npm run codegen\` and commit the result`,
          { details: { file: target } },
        );
      }
      io.out(`${target} is up to date`);
      return;
    }
    if (current === rendered) {
      io.out(`${target} is up to date`);
      return;
    }
    writeFileSync(GENERATED_TYPES_FILE, rendered);
    io.out(`wrote ${target}`);
  },
};
