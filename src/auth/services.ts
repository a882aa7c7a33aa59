import type { Authenticator } from './authenticator.js';
import type { OidcProvider } from './oidc.js';
import type { SessionSettings } from './sessions.js';
import type { VerifyingKeys } from './signing-keys.js';

/** What sign-in needs besides the common Deps: made once per process by main.ts. */
export interface AuthServices {
  sessions: SessionSettings;
  verifying: VerifyingKeys;
  authenticator: Authenticator;
  providers: Map<string, OidcProvider>;
}
