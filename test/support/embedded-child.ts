/**
 * A process that uses the embedded PostgreSQL as the service, the test setup and the bench do, for
 * test/blackbox/lifecycle.test.ts: `node --import tsx test/support/embedded-child.ts <dataDir>
 * <port> stop|leave <exitCode>` starts a server, prints its postmaster's pid, then either stops it
 * and ends with process.exitCode = exitCode, or exits with exitCode leaving the server running.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

const [dataDir, port, mode, exitCode] = process.argv.slice(2);
const server = await startEmbeddedPostgres(dataDir, Number(port));
console.log(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
if (mode === 'stop') {
  await server.stop();
  process.exitCode = Number(exitCode);
} else {
  process.exit(Number(exitCode));
}
