import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import type { OidcProviderConfig } from '../config.js';
import { DomainError } from '../domain/errors.js';

// Waits for a provider: long enough for a slow one, short enough that a person is told soon.
const PROVIDER_TIMEOUT_SECONDS = 5;
// After a failed discovery, the next request tries again no sooner than this.
const REDISCOVER_AFTER_MS = 2000;
// A key id the provider's key set lacks is looked up again (the provider may have rotated its
// keys) at most this often, so forged kids cannot make us hammer the provider.
const JWKS_REFETCH_COOLDOWN_MS = 5000;
// An ID token says when it was issued; one older than providers let them live is refused.
const ID_TOKEN_MAX_AGE_SECONDS = 3600;
// Tell the client when to retry an unreachable provider.
const PROVIDER_RETRY_AFTER_SECONDS = '5';
export const LOGIN_TTL_SECONDS = 600;
export const OIDC_SCOPE = 'openid email profile';

/** What a verified ID token says about the person. */
export interface Identity {
  provider: string;
  subject: string;
  /** Only when the provider says it verified it. */
  verifiedEmail: string | null;
  name: string | null;
}

/** A new login's secrets: the state and nonce sent to the provider, the PKCE verifier kept back. */
export function newLogin(): { state: string; nonce: string; codeVerifier: string } {
  return { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
}

export const stateHash = (state: string) => new Uint8Array(createHash('sha256').update(state).digest());

const unavailable = (provider: string) =>
  new DomainError(
    'identity_provider_unavailable',
    `The identity provider ${provider} cannot be reached; try again shortly.`,
    {},
    {
      'Retry-After': PROVIDER_RETRY_AFTER_SECONDS,
    },
  );

/** One configured provider: discovered on first use (and again after a failure), its keys cached. */
export class OidcProvider {
  private discovered: Promise<{ config: client.Configuration; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  private failedAtMs = 0;

  constructor(readonly settings: OidcProviderConfig) {}

  get name(): string {
    return this.settings.name;
  }

  /** Where to send the person, for a login whose state, nonce and PKCE verifier the caller keeps. */
  async authorizationUrl(login: { state: string; nonce: string; codeVerifier: string }): Promise<string> {
    const { config } = await this.discover();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: OIDC_SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(login.codeVerifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    return url.href;
  }

  /** Exchanges the callback's code (state, PKCE and nonce checked) and verifies the ID token. */
  async finishLogin(callbackQuery: URLSearchParams, login: { state: string; nonce: string; codeVerifier: string }): Promise<Identity> {
    const { config } = await this.discover();
    const currentUrl = new URL(this.settings.redirectUri);
    currentUrl.search = callbackQuery.toString();
    let idToken: string | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      idToken = tokens.id_token;
    } catch (error) {
      throw this.explain(error);
    }
    return this.verifyIdToken(idToken!, login.nonce);
  }

  /**
   * The identity in an ID token the provider signed for our client: signature against the
   * provider's published keys, issuer, audience, expiry, issue time and, when given, nonce.
   */
  async verifyIdToken(idToken: string, nonce: string | undefined): Promise<Identity> {
    const { config, jwks } = await this.discover();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, jwks, {
        issuer: config.serverMetadata().issuer,
        audience: this.settings.clientId,
        requiredClaims: ['sub', 'iat', 'exp'],
        maxTokenAge: ID_TOKEN_MAX_AGE_SECONDS,
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout || isNetworkError(error)) throw unavailable(this.name);
      throw new DomainError('id_token_invalid', `The ID token from ${this.name} failed verification.`);
    }
    if (nonce !== undefined && payload.nonce !== nonce) {
      throw new DomainError('id_token_invalid', `The ID token from ${this.name} carries another nonce.`);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
      throw new DomainError('id_token_invalid', `The ID token from ${this.name} has no usable subject.`);
    }
    const email = typeof payload.email === 'string' && payload.email_verified === true ? payload.email.trim().toLowerCase() : null;
    const name = typeof payload.name === 'string' ? payload.name : typeof payload.nickname === 'string' ? payload.nickname : null;
    return { provider: this.name, subject: payload.sub, verifiedEmail: email && email.length <= 254 ? email : null, name };
  }

  private discover() {
    if (this.discovered === undefined && Date.now() - this.failedAtMs >= REDISCOVER_AFTER_MS) {
      const { issuer, clientId, clientSecret } = this.settings;
      const insecure = issuer.protocol === 'http:';
      this.discovered = client
        .discovery(issuer, clientId, { client_secret: clientSecret }, client.ClientSecretBasic(clientSecret), {
          execute: insecure ? [client.allowInsecureRequests] : [],
          timeout: PROVIDER_TIMEOUT_SECONDS,
        })
        .then((config) => {
          const jwksUri = config.serverMetadata().jwks_uri;
          if (!jwksUri) throw new Error(`${this.name} publishes no jwks_uri`);
          const jwks = createRemoteJWKSet(new URL(jwksUri), {
            timeoutDuration: PROVIDER_TIMEOUT_SECONDS * 1000,
            cooldownDuration: JWKS_REFETCH_COOLDOWN_MS,
          });
          return { config, jwks };
        });
      this.discovered.catch(() => {
        this.discovered = undefined;
        this.failedAtMs = Date.now();
      });
    }
    if (this.discovered === undefined) return Promise.reject(unavailable(this.name));
    return this.discovered.catch(() => {
      throw unavailable(this.name);
    });
  }

  private explain(error: unknown): DomainError {
    if (error instanceof client.AuthorizationResponseError) {
      return new DomainError('oidc_login_refused', `${this.name} did not sign the person in: ${error.error}.`);
    }
    if (error instanceof client.ResponseBodyError) {
      return new DomainError('oidc_login_refused', `${this.name} refused the authorization code: ${error.error}.`);
    }
    if (isNetworkError(error)) return unavailable(this.name);
    if (error instanceof client.ClientError && error.code?.startsWith('OAUTH_JWT')) {
      return new DomainError('id_token_invalid', `The ID token from ${this.name} failed verification.`);
    }
    if (error instanceof client.ClientError && error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') return unavailable(this.name);
    return new DomainError('oidc_login_refused', `The sign-in with ${this.name} could not be completed.`);
  }
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  const cause = (error as { cause?: unknown }).cause;
  return error instanceof TypeError || (cause instanceof Error && isNetworkError(cause));
}

/** The configured providers by name. */
export function oidcProviders(configs: OidcProviderConfig[]): Map<string, OidcProvider> {
  return new Map(configs.map((settings) => [settings.name, new OidcProvider(settings)]));
}
