import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { commandIndex } from '../../src/cli/command-index.ts';
import { projectRoot } from '../../src/config.ts';

test('every command file is in the index, and each entry loads a runnable command', async (t) => {
  const files = readdirSync(join(projectRoot, 'src', 'cli')).filter((f) => f.endsWith('-command.ts'));
  t.deepEqual(commandIndex.map((c) => `${c.name}-command.ts`).sort(), files.sort());
  for (const entry of commandIndex) {
    const command = await entry.load();
    t.true(command.usage.startsWith(`pipeline ${entry.name}`), entry.name);
    t.is(typeof command.run, 'function');
    t.true(command.help.length > 0, `${entry.name} has help`);
  }
});
