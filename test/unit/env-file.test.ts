import test from 'ava';
import { parseEnvFile } from '../../src/env-file.ts';
import { ConfigurationError } from '../../src/errors.ts';

test('a line without = is reported with its line number (was: it swallowed the next line, DATABASE_URL)', (t) => {
  const error = t.throws(
    () =>
      parseEnvFile('KAFKA_BROKERS=127.0.0.1:19092\nFOO\nDATABASE_URL=postgres://u@db.example/x\n', '.env'),
    { instanceOf: ConfigurationError },
  );
  t.deepEqual(error.problems, ['.env:2: not a NAME=value line']);
});

test('every malformed line of .env is reported at once, without echoing its text', (t) => {
  const text = [
    '# comment',
    '',
    'export A=1',
    'hunter2',
    'B="unterminated',
    "C='x' trailing",
    'A=2',
    '1BAD=x',
  ].join('\n');
  const error = t.throws(() => parseEnvFile(text, '/w/.env'), { instanceOf: ConfigurationError });
  t.deepEqual(error.problems, [
    '/w/.env:4: not a NAME=value line',
    '/w/.env:5: B: unterminated " quote (values span one line)',
    "/w/.env:6: C: text after the closing ' quote",
    '/w/.env:7: A is already set on line 3',
    '/w/.env:8: not a NAME=value line',
  ]);
  t.notRegex(error.message, /hunter2/);
});

test('.env values: quotes, comments, CRLF and a # inside a value', (t) => {
  t.deepEqual(
    parseEnvFile(
      'A=plain\r\nB = spaced  \nC="dq # not a comment"\nD=\'sq\'  # comment\nE=pass#word\nF=x # comment\nG=\nH="a\\nb"\n',
      '.env',
    ),
    { A: 'plain', B: 'spaced', C: 'dq # not a comment', D: 'sq', E: 'pass#word', F: 'x', G: '', H: 'a\nb' },
  );
});
