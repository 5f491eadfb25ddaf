/**
 * `pipeline <command>`: the one entry point, and the only place that prints for people. Importing this
 * module runs nothing: bin/pipeline.js calls `main` with the process arguments and sets the exit code.
 */
import { parseArgs } from 'node:util';
import { loadLogSettings } from '../config.ts';
import { ConfigurationError, PipelineError, UsageError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import type { CommandIo } from './command.ts';
import { commandIndex } from './command-index.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';
import { versionLines } from './version.ts';

const io: Omit<CommandIo, 'log'> = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function overview(): string {
  const width = Math.max(...commandIndex.map((c) => c.name.length));
  return [
    'usage: pipeline <command> [options]   (pipeline <command> --help for details, pipeline --version)',
    '',
    ...commandIndex.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
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
  if (name === '--version' || name === '-v') {
    io.out(versionLines().join('\n'));
    return EXIT.ok;
  }
  const entry = commandIndex.find((c) => c.name === name);
  if (entry === undefined) {
    io.err(`unknown command "${name}"\n\n${overview()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      io.out(`usage: ${command.usage}\n\n${entry.summary}\n\n${command.help}`);
      return EXIT.ok;
    }
    const stray = parsed.positionals.slice(command.positionals?.length ?? 0);
    if (stray.length > 0) {
      throw new UsageError(
        `unexpected argument${stray.length > 1 ? 's' : ''} ${stray.map((s) => `"${s}"`).join(' ')}`,
      );
    }
    await command.run(parsed, { ...io, log: createLogger(loadLogSettings()) });
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
