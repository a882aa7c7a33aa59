import type { Logger } from 'pino';

/** What middleware puts on the request context. */
export type AppEnv = {
  Variables: {
    requestId: string;
    userId: string;
    sessionId: string;
    log: Logger;
  };
};
