/**
 * The rate limits the test servers, the race harness and the bench run with: each of them is one
 * client doing what thousands of people do, which the production limits exist to refuse. Set
 * through the service's own RATE_LIMIT_* variables, as an operator would; tests of the limits
 * themselves start their servers with the real defaults.
 */
export const RAISED_RATE_LIMITS = {
  RATE_LIMIT_AUTH: '100000000/60',
  RATE_LIMIT_MONEY: '100000000/60',
  RATE_LIMIT_ACTIONS: '100000000/60',
  RATE_LIMIT_READS: '100000000/60',
} as const;

/** The service's own defaults (unset variables), for a server whose limits are under test. */
export const DEFAULT_RATE_LIMITS = {
  RATE_LIMIT_AUTH: undefined,
  RATE_LIMIT_MONEY: undefined,
  RATE_LIMIT_ACTIONS: undefined,
  RATE_LIMIT_READS: undefined,
} as const;
