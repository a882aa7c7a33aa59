import type { Logger } from 'pino';

/** What middleware puts on the request context. */
export type AppEnv = {
  Variables: {
    requestId: string;
    userId: string;
    sessionId: string;
    /** When the credential of this request (an access token, or the one that got a stream's ticket) expires. */
    credentialExpiresAtMs: number;
    log: Logger;
  };
};
