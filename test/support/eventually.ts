/**
 * Polls `probe` every `everyMs` until it returns something truthy, and returns that; after
 * `timeoutMs` fails with the message `failure()` gives (the state last seen).
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false>,
  failure: () => string,
  { everyMs = 25, timeoutMs = 30_000 } = {},
): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const result = await probe();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
