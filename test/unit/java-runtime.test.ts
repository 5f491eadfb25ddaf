import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { PipelineError } from '../../src/errors.ts';
import { findJava } from '../../src/stack/java-runtime.ts';

test('a configured JDK that does not exist is a prerequisite error naming the variable', (t) => {
  const home = mkdtempSync(join(tmpdir(), 'no-jdk-'));
  const error = t.throws(() => findJava('Apicurio Registry 3.3', 21, home, 'STACK_REGISTRY_JAVA_HOME'), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'STACK_PREREQUISITE_MISSING');
  t.regex(error.message, /Apicurio Registry 3\.3 needs Java 21 or newer/);
  t.regex(error.message, /STACK_REGISTRY_JAVA_HOME/);
  t.regex(error.message, new RegExp(`${home}/bin/java: not runnable`));
});

test('a JDK older than required is passed over with its version named', (t) => {
  // Whatever the machine has, asking for a Java from the far future must fail and list what was found.
  const error = t.throws(() => findJava('The Kafka broker', 99, undefined, 'STACK_KAFKA_JAVA_HOME'), {
    instanceOf: PipelineError,
  });
  t.regex(error.message, /needs Java 99 or newer; none found \(java: (\d+|not runnable)/);
});
