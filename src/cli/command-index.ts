/**
 * Every `pipeline` command: its name and one-line summary here, its code loaded only when it runs, so that
 * a long-running `consume` does not carry the producer's fake-data generator or the stack's code in memory.
 */
import type { Command } from './command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

// In the order a newcomer meets them.
export const commandIndex: readonly CommandEntry[] = [
  {
    name: 'demo',
    summary:
      'run the whole pipeline once: stack, migrations, schemas, events (old and new, some poison), consume',
    load: async () => (await import('./demo-command.ts')).demoCommand,
  },
  {
    name: 'stack',
    summary: 'start, stop or report the local Kafka, registry and PostgreSQL',
    load: async () => (await import('./stack-command.ts')).stackCommand,
  },
  {
    name: 'migrate',
    summary: 'apply, revert or list the database migrations (migrations/), or draft one from a schema change',
    load: async () => (await import('./migrate-command.ts')).migrateCommand,
  },
  {
    name: 'topics',
    summary: 'create the catalog topics',
    load: async () => (await import('./topics-command.ts')).topicsCommand,
  },
  {
    name: 'schemas',
    summary: 'check, register or list the catalog schemas in the registry',
    load: async () => (await import('./schemas-command.ts')).schemasCommand,
  },
  {
    name: 'codegen',
    summary: 'generate the TypeScript event types from the schemas catalog',
    load: async () => (await import('./codegen-command.ts')).codegenCommand,
  },
  {
    name: 'produce',
    summary: 'send generated (fake) events of a catalog topic',
    load: async () => (await import('./produce-command.ts')).produceCommand,
  },
  {
    name: 'consume',
    summary: 'consume the catalog topics into PostgreSQL until SIGTERM/SIGINT',
    load: async () => (await import('./consume-command.ts')).consumeCommand,
  },
  {
    name: 'status',
    summary: 'lag per partition, rows per table and dead letters per cause, from Kafka and PostgreSQL',
    load: async () => (await import('./status-command.ts')).statusCommand,
  },
  {
    name: 'replay',
    summary: 're-process dead letters after a fix; removes those that now go through',
    load: async () => (await import('./replay-command.ts')).replayCommand,
  },
  {
    name: 'check',
    summary: 'run the start-up gate without consuming: migrations, tables, columns, registered schemas',
    load: async () => (await import('./check-command.ts')).checkCommand,
  },
];
