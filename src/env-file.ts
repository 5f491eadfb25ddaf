/**
 * A strict reader of `.env` files. Node's `util.parseEnv` joins a line without `=` to the next one (so
 * `FOO` followed by `DATABASE_URL=…` defines a variable named "FOO\nDATABASE_URL" and the URL is silently
 * not set), and cuts an unquoted value at the first `#`. Here every line is one of: blank, a `#` comment, or
 * `[export ]NAME=value`; anything else is reported with its line number, all problems at once. Line contents
 * are never echoed: a malformed line may be half of a password.
 */
import { ConfigurationError } from './errors.ts';

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;

/** The value of one assignment, or a reason it is malformed. */
function parseValue(raw: string): { value: string } | { problem: string } {
  const text = raw.trim();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    if (end === -1) return { problem: `unterminated ${quote} quote (values span one line)` };
    const rest = text.slice(end + 1).trim();
    if (rest !== '' && !rest.startsWith('#')) return { problem: `text after the closing ${quote} quote` };
    const inner = text.slice(1, end);
    return { value: quote === '"' ? inner.replaceAll('\\n', '\n') : inner };
  }
  // An unquoted value ends at a comment only when the `#` follows whitespace: `pass#word` stays whole.
  const comment = text.search(/\s#/);
  return { value: (comment === -1 ? text : text.slice(0, comment)).trim() };
}

/** Parses the text of `file`; throws one ConfigurationError naming every malformed or repeated line. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const values: Record<string, string> = {};
  const seenAt = new Map<string, number>();
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const number = index + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const match = ASSIGNMENT.exec(line);
    if (match === null) {
      problems.push(`${file}:${number}: not a NAME=value line`);
      return;
    }
    const name = match[1]!;
    const parsed = parseValue(match[2]!);
    if ('problem' in parsed) {
      problems.push(`${file}:${number}: ${name}: ${parsed.problem}`);
      return;
    }
    const first = seenAt.get(name);
    if (first !== undefined) {
      problems.push(`${file}:${number}: ${name} is already set on line ${first}`);
      return;
    }
    seenAt.set(name, number);
    values[name] = parsed.value;
  });
  if (problems.length > 0) throw new ConfigurationError(problems);
  return values;
}
