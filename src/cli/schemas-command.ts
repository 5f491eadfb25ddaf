import { loadConfig } from '../config.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import { assertCompatible, checkSchemas, registerSchemas } from '../contracts/schema-workflow.ts';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

export const schemasCommand: Command = {
  usage: 'pipeline schemas <check|register|list> [--all-versions]',
  positionals: ['action'],
  help: [
    "check      test each topic's reader (latest) schema against the registry's latest version of its subject,",
    "           under the subject's compatibility level; exit 4 (SCHEMA_INCOMPATIBLE) naming subject, field and",
    '           reason when one would be refused. Registers nothing: a CI gate.',
    "register   register each topic's reader schema (with --all-versions: every catalog version, oldest",
    '           first); idempotent; a new subject gets compatibility BACKWARD. The first refusal stops the run.',
    "list       the registry's subjects with their versions, schema ids and compatibility level",
    '',
    'Subjects follow TopicNameStrategy: <topic>-value. The registry is SCHEMA_REGISTRY_URL.',
  ].join('\n'),
  options: { 'all-versions': { type: 'boolean', default: false } },
  async run(args, io) {
    const [action] = args.positionals;
    if (action !== 'check' && action !== 'register' && action !== 'list') {
      throw new UsageError(`unknown action "${action ?? ''}"`);
    }
    const config = loadConfig();
    const registry = new RegistryClient(config.registry);
    try {
      if (action === 'list') {
        for (const s of await registry.listSubjects()) {
          const versions = s.versions.map((v) => `v${v.version}=id ${v.id}`).join(', ');
          io.out(
            `${s.subject}  ${s.compatibility.level} (${s.compatibility.source})  ${versions || 'no versions'}`,
          );
        }
        return;
      }
      const catalog = loadCatalog(config.schemasDir);
      if (action === 'check') {
        const checks = await checkSchemas(catalog, registry);
        for (const c of checks) {
          const verdict = c.compatible ? 'ok  ' : 'FAIL';
          const against = c.compared ? `against the latest version, ${c.level}` : 'new subject';
          io.out(`${verdict} ${c.subject}  ${c.file}  (${against})`);
          for (const reason of c.reasons) io.out(`       ${reason}`);
        }
        assertCompatible(checks);
        return;
      }
      await registerSchemas(catalog, registry, {
        allVersions: args.values['all-versions'] === true,
        onRegistered: (r) =>
          io.out(
            `${r.subject}  ${r.file} (catalog v${r.catalogVersion})  registry version ${r.version}, id ${r.id}  ${r.created ? 'registered' : 'already registered'}`,
          ),
      });
    } finally {
      registry.close();
    }
  },
};
