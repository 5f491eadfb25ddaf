/**
 * `pipeline <command>`: the one entry point, and the only place that prints for people.
 */
import { parseArgs } from 'node:util';
import { ConfigurationError, PipelineError, UsageError } from '../errors.ts';
import { checkCommand } from './check-command.ts';
import { codegenCommand } from './codegen-command.ts';
import type { Command, CommandIo } from './command.ts';
import { consumeCommand } from './consume-command.ts';
import { demoCommand } from './demo-command.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';
import { migrateCommand } from './migrate-command.ts';
import { produceCommand } from './produce-command.ts';
import { replayCommand } from './replay-command.ts';
import { schemasCommand } from './schemas-command.ts';
import { stackCommand } from './stack-command.ts';
import { topicsCommand } from './topics-command.ts';

// In the order a newcomer meets them.
const commands: Command[] = [
  demoCommand,
  stackCommand,
  migrateCommand,
  topicsCommand,
  schemasCommand,
  codegenCommand,
  produceCommand,
  consumeCommand,
  replayCommand,
  checkCommand,
];

const io: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: pipeline <command> [options]   (pipeline <command> --help for details)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

function describe(error: unknown): string {
  if (error instanceof ConfigurationError) return `error: ${error.message}`;
  if (error instanceof PipelineError) {
    const details = Object.entries(error.details)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const cause =
      error.cause instanceof Error && !error.message.includes(error.cause.message)
        ? `\n  cause: ${error.cause.message}`
        : '';
    return `error [${error.code}]: ${error.message}${details ? `\n  ${details}` : ''}${cause}`;
  }
  return `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(overview());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`unknown command "${name}"\n\n${overview()}`);
    return EXIT.usage;
  }
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      io.out(`usage: ${command.usage}\n\n${command.summary}\n\n${command.help}`);
      return EXIT.ok;
    }
    await command.run(parsed, io);
    return EXIT.ok;
  } catch (error) {
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (usage) {
      io.err(`${(error as Error).message}\nusage: ${command.usage}`);
      return EXIT.usage;
    }
    io.err(describe(error));
    return exitCodeOf(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
