export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

import type { Logger } from '../log/logger.ts';

export interface CommandIo {
  /** A line for people on stdout. */
  out(line: string): void;
  /** A line for people on stderr. */
  err(line: string): void;
  /** The program's logger (LOG_LEVEL, LOG_FORMAT): operational messages, kafkajs', the consumer's. */
  log: Logger;
}

/** A command's code; its name and summary live in command-index.ts. */
export interface Command {
  usage: string;
  help: string;
  /**
   * Names of the positional words the command takes (e.g. `['action']`); more words than these are a usage
   * error, so that a stray word is never silently ignored. Default none.
   */
  positionals?: readonly string[];
  /** Options in node:util parseArgs form. */
  options?: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }
  >;
  run(args: ParsedArgs, io: CommandIo): Promise<void>;
}
