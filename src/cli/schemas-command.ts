import { loadConfig } from '../config.ts';
import { loadCatalog } from '../contracts/catalog.ts';
import { RegistryClient } from '../contracts/registry-client.ts';
import {
  assertCompatible,
  checkSchemas,
  registerSchemas,
  type SchemaCheck,
} from '../contracts/schema-workflow.ts';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

export const schemasCommand: Command = {
  usage: 'pipeline schemas <check|register|list> [--all-versions] [--offline]',
  positionals: ['action'],
  help: [
    "check      test each topic's reader (latest) schema twice: the registry's check against the latest version",
    "           of its subject under the subject's level, and the project's rules for every registered and catalog",
    '           version (stricter than the registries: decimal precision and scale, timestamp units, date, uuid,',
    '           enum symbols removed without a default, fixed sizes, defaults). Exit 4 (SCHEMA_INCOMPATIBLE)',
    '           naming subject, version, field, old and new type and reason. Registers nothing: a CI gate.',
    "           --offline: no registry; the catalog's versions against each other (CI without credentials).",
    "register   register each topic's reader schema (with --all-versions: every catalog version, oldest",
    '           first); idempotent; a new subject gets compatibility BACKWARD. The first refusal stops the run.',
    "list       the registry's subjects with their versions, schema ids and compatibility level",
    '',
    'Subjects follow TopicNameStrategy: <topic>-value. The registry is SCHEMA_REGISTRY_URL.',
  ].join('\n'),
  options: {
    'all-versions': { type: 'boolean', default: false },
    offline: { type: 'boolean', default: false },
  },
  async run(args, io) {
    const [action] = args.positionals;
    if (action !== 'check' && action !== 'register' && action !== 'list') {
      throw new UsageError(`unknown action "${action ?? ''}"`);
    }
    const config = loadConfig();
    if (action === 'check' && args.values.offline === true) {
      // The catalog's versions are checked by checkSchemas, as SCHEMA_INCOMPATIBLE with the others.
      const checks = await checkSchemas(loadCatalog(config.schemasDir, { checkVersions: false }), undefined);
      printChecks(checks, io.out);
      assertCompatible(checks);
      return;
    }
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
      if (action === 'check') {
        const checks = await checkSchemas(loadCatalog(config.schemasDir, { checkVersions: false }), registry);
        printChecks(checks, io.out);
        assertCompatible(checks);
        return;
      }
      const catalog = loadCatalog(config.schemasDir);
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

function printChecks(checks: readonly SchemaCheck[], out: (line: string) => void): void {
  for (const c of checks) {
    const verdict = c.compatible ? 'ok  ' : 'FAIL';
    const against =
      c.registryCompatible === undefined
        ? 'offline: catalog versions only'
        : `${c.compared ? `registry: ${c.registryCompatible ? 'compatible' : 'incompatible'} against the latest version, ${c.level}` : 'registry: new subject'}; project rules: ${c.problems.length === 0 ? 'ok' : `${c.problems.length} problem(s)`}`;
    out(`${verdict} ${c.subject}  ${c.file}  (${against})`);
    if (c.note !== undefined) out(`       note: ${c.note}`);
    for (const reason of c.reasons) out(`       ${reason}`);
  }
}
