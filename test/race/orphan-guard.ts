/**
 * Loaded into each service process the harness starts (node --import): when the harness dies
 * without stopping it (a killed test worker, a lost terminal), the service stops too instead of
 * living on as an orphan holding its database connections. Changes nothing else.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid === parent) return;
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(1), 15_000).unref();
}, 1000).unref();
