/**
 * Once per test run: a PostgreSQL server (DATABASE_URL's, or an embedded one in a temp dir) and a
 * template database with every migration and the demo data, which each test file clones.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { migrate } from '../../src/db/migrate.js';
import { openDatabase } from '../../src/db/database.js';
import { seedDemoData } from '../../src/db/seed.js';
import { databaseUrl, freePort } from './urls.js';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  let embedded: EmbeddedServer | undefined;
  let embeddedDir: string | undefined;
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    embeddedDir = path.join(tmpdir(), `co-order-test-pg-${process.pid}`);
    embedded = await startEmbeddedPostgres(embeddedDir, await freePort());
    serverUrl = embedded.url;
  }
  const templateDatabase = `co_order_template_${process.pid}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${templateDatabase}`);
  await admin.unsafe(`CREATE DATABASE ${templateDatabase}`);
  const templateUrl = databaseUrl(serverUrl, templateDatabase);
  await migrate(templateUrl);
  const template = openDatabase({ url: templateUrl, poolMax: 1, lockWaitMs: 5000, statementTimeoutMs: 30_000, connectTimeoutS: 10 });
  await seedDemoData(template.db);
  await template.close();

  project.provide('serverUrl', serverUrl);
  project.provide('templateDatabase', templateDatabase);

  return async () => {
    // Each file drops its own database; these catch what a crashed file left behind.
    const leftovers = await admin<{ datname: string }[]>`
      SELECT datname FROM pg_database WHERE datname LIKE ${`co_order_t_${process.pid}_%`}`;
    for (const { datname } of leftovers) await admin.unsafe(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.unsafe(`DROP DATABASE IF EXISTS ${templateDatabase} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
    if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
  };
}
