import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateSigningJwk } from '../../src/auth/signing-keys.js';
import { loadConfig } from '../../src/config.js';

const PROD_KEY = await generateSigningJwk();
const PROD_KEYS = JSON.stringify({ keys: [PROD_KEY] });
const PAYMENTS = {
  PAYMENTS_API_URL: 'https://api.payments.example.com',
  PAYMENTS_SECRET_KEY: 'sk_live_example',
  PAYMENTS_WEBHOOK_SECRET: 'whsec_example_of_the_webhooks',
};

describe('loadConfig', () => {
  it('requires the payment provider in production, and both secrets wherever it is set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_SIGNING_KEYS: PROD_KEYS })).toThrow(/PAYMENTS_API_URL: required in production/);
    expect(() => loadConfig({ PAYMENTS_API_URL: 'http://127.0.0.1:9' })).toThrow(
      /PAYMENTS_SECRET_KEY: required with PAYMENTS_API_URL[\s\S]*PAYMENTS_WEBHOOK_SECRET: required with PAYMENTS_API_URL/,
    );
    expect(loadConfig({}).PAYMENTS_API_URL).toBeUndefined();
    expect(loadConfig({ ...PAYMENTS })).toMatchObject({ ...PAYMENTS, PAYMENTS_SETTLE_AFTER_SECONDS: 30 });
  });

  it('has sensible defaults for a developer with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: 3000,
      AUTH_DEV_LOGIN: true,
      ACCESS_TOKEN_TTL_SECONDS: 900,
      REFRESH_TOKEN_TTL_DAYS: 30,
      SEED_DEMO_DATA: true,
      ORDER_TTL_MINUTES: 30,
      NEARBY_DEFAULT_RADIUS_M: 300,
      SIGNUP_GRANT_KRW: 50_000,
      IDEMPOTENCY_RETENTION_HOURS: 24,
      MAX_BODY_BYTES: 64 * 1024,
      JOBS_ENABLED: true,
    });
    // No DATABASE_URL: main.ts starts the embedded PostgreSQL. No signing key: main.ts makes one.
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.AUTH_SIGNING_KEYS).toBeUndefined();
    expect(config.oidcProviders).toEqual([]);
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.CORS_ORIGINS).toEqual([]);
  });

  it('in production listens on every interface, seeds nothing and has no development login unless told', () => {
    expect(loadConfig({ NODE_ENV: 'production', AUTH_SIGNING_KEYS: PROD_KEYS, ...PAYMENTS })).toMatchObject({
      HOST: '0.0.0.0',
      SEED_DEMO_DATA: false,
      AUTH_DEV_LOGIN: false,
    });
    expect(
      loadConfig({ NODE_ENV: 'production', AUTH_SIGNING_KEYS: PROD_KEYS, ...PAYMENTS, SEED_DEMO_DATA: 'true', HOST: '10.0.0.5' }),
    ).toMatchObject({
      HOST: '10.0.0.5',
      SEED_DEMO_DATA: true,
    });
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  });

  it('refuses the development login in production, naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', AUTH_SIGNING_KEYS: PROD_KEYS, ...PAYMENTS, AUTH_DEV_LOGIN: 'true' })).toThrow(
      /AUTH_DEV_LOGIN: the passwordless development login cannot be on in production/,
    );
  });

  it('reads rate limits as quota/window and refuses anything else', () => {
    expect(loadConfig({}).RATE_LIMIT_MONEY).toEqual({ quota: 30, windowSeconds: 60 });
    expect(loadConfig({ RATE_LIMIT_READS: '1200/30' }).RATE_LIMIT_READS).toEqual({ quota: 1200, windowSeconds: 30 });
    for (const bad of ['30', '0/60', '30/0', '30/60/1', 'many/60', '-1/60']) {
      expect(() => loadConfig({ RATE_LIMIT_AUTH: bad })).toThrow(/RATE_LIMIT_AUTH: must be quota\/window_seconds/);
    }
  });

  it('reads TRUST_PROXY as addresses and CIDR ranges and refuses anything else', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16, ::1, fd00::/8' }).TRUST_PROXY).toEqual([
      '10.0.0.1',
      '10.1.0.0/16',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '::/129', '10.0.0.1/8/1', '*']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(/TRUST_PROXY/);
    }
  });

  it('reads CORS_ORIGINS as a list of origins and refuses one with a path', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).CORS_ORIGINS).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
  });

  it('reads values from strings as the environment gives them', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://app@db.internal:5432/co_order',
      AUTH_DEV_LOGIN: 'false',
      JOBS_ENABLED: '0',
      SEED_DEMO_DATA: '1',
      ORDER_TTL_MINUTES: '45',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      DATABASE_URL: 'postgres://app@db.internal:5432/co_order',
      AUTH_DEV_LOGIN: false,
      JOBS_ENABLED: false,
      SEED_DEMO_DATA: true,
      ORDER_TTL_MINUTES: 45,
    });
  });

  it('refuses production without AUTH_SIGNING_KEYS, naming the variable', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/Invalid configuration:[\s\S]*AUTH_SIGNING_KEYS: required in production/);
  });

  it('in production uses the given keys, the first one signing, and turns dev login off', () => {
    const retired = { ...PROD_KEY, kid: 'retired' };
    const config = loadConfig({ NODE_ENV: 'production', AUTH_SIGNING_KEYS: JSON.stringify({ keys: [PROD_KEY, retired] }), ...PAYMENTS });
    expect(config.AUTH_SIGNING_KEYS?.map((k) => k.kid)).toEqual([PROD_KEY.kid, 'retired']);
    expect(config.AUTH_DEV_LOGIN).toBe(false);
  });

  it.each([
    ['not JSON', 'keys', /JWK Set in JSON/],
    ['no keys', JSON.stringify({ keys: [] }), /JWK Set of private EC P-256 keys/],
    ['a public key only', JSON.stringify({ keys: [{ ...PROD_KEY, d: undefined }] }), /JWK Set of private EC P-256 keys/],
    ['an RSA key', JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB', d: 'y' }] }), /JWK Set of private EC P-256 keys/],
    ['two keys with one kid', JSON.stringify({ keys: [PROD_KEY, PROD_KEY] }), /each key needs its own kid/],
  ])('refuses AUTH_SIGNING_KEYS that is %s', (_, value, message) => {
    expect(() => loadConfig({ AUTH_SIGNING_KEYS: value })).toThrow(message);
  });

  it('reads each OpenID provider from its four variables and refuses plain http in production', () => {
    const provider = (issuer: string) => ({
      OIDC_PROVIDERS: 'google',
      OIDC_GOOGLE_ISSUER: issuer,
      OIDC_GOOGLE_CLIENT_ID: 'client-1',
      OIDC_GOOGLE_CLIENT_SECRET: 'secret-1',
      OIDC_GOOGLE_REDIRECT_URI: 'https://api.example.com/auth/oidc/google/callback',
    });
    expect(loadConfig(provider('http://127.0.0.1:4000')).oidcProviders).toMatchObject([
      { name: 'google', clientId: 'client-1', clientSecret: 'secret-1', redirectUri: 'https://api.example.com/auth/oidc/google/callback' },
    ]);
    expect(() =>
      loadConfig({ ...provider('http://idp.example.com'), NODE_ENV: 'production', AUTH_SIGNING_KEYS: PROD_KEYS, ...PAYMENTS }),
    ).toThrow(/OIDC_GOOGLE_ISSUER: must be an https URL/);
    expect(() => loadConfig({ OIDC_PROVIDERS: 'kakao' })).toThrow(/OIDC_KAKAO_ISSUER: [\s\S]*OIDC_KAKAO_CLIENT_ID: /);
    expect(() => loadConfig({ OIDC_PROVIDERS: 'Bad-Name' })).toThrow(/OIDC_PROVIDERS/);
  });

  it.each(['abc', '-1', '65536', '3000.5', '1e9'])('refuses PORT=%s with a message naming PORT', (port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(/Invalid configuration:\n\s+PORT: /);
  });

  it.each([
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['DATABASE_URL', 'not a url'],
    ['AUTH_DEV_LOGIN', 'yes'],
    ['DB_POOL_MAX', '0'],
    ['ORDER_TTL_MINUTES', 'thirty'],
    ['MAX_BODY_BYTES', '10'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`\\n\\s+${name}: `));
  });

  it('lists every problem at once', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'x', NODE_ENV: 'production', LOG_LEVEL: 'loud' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/LOG_LEVEL: /);
  });
});

describe('src/config.ts is the only reader of process.env', () => {
  it('no other source file mentions process.env', async () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const readers: string[] = [];
    for (const file of files) {
      if (path.normalize(file) === 'config.ts') continue;
      if ((await readFile(path.join(src, file), 'utf8')).includes('process.env')) readers.push(file);
    }
    expect(readers).toEqual([]);
  });
});
