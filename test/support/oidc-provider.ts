/**
 * A real OpenID Provider on loopback for the sign-in tests: panva's `oidc-provider`, in this test
 * process, with its development login and consent pages, one confidential client (authorization
 * code only, PKCE S256 required, client_secret_basic or client_secret_post), scopes
 * `openid email profile` and the claims email, email_verified and name, which the ID token itself
 * carries (conformIdTokenClaims off) as well as userinfo.
 *
 * A test drives it as a person would: signInAtProvider / denyAtProvider walk the provider's pages
 * over HTTP, carrying its cookies by hand, and return where it sends the browser back. It can be
 * taken down and brought back on the same port, with new signing keys if wanted, and can sign an
 * ID token of any content with its own (or another) private key, for the tokens a provider would
 * never issue.
 *
 * Over http by default; given `tls` (a key and certificate, typically from a CA the test made) it
 * serves https instead, as a production issuer must be, and the walks then take `ca` to trust it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose';
// @ts-expect-error -- oidc-provider ships no type declarations; the little used here is typed below.
import ProviderModule from 'oidc-provider';

/** The part of oidc-provider's Provider class this harness uses. */
interface OidcProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: unknown[]) => void): void;
}
const Provider = ProviderModule as new (issuer: string, configuration: Record<string, unknown>) => OidcProviderInstance;

export type SigningAlg = 'ES256' | 'RS256';

/** A private signing key as a JWK, with the `kid`, `alg` and `use` the provider publishes it under. */
export type PrivateSigningJwk = JWK & { kid: string; alg: SigningAlg; use: 'sig' };

export interface OidcClientOptions {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
}

export interface OidcProviderOptions {
  client: OidcClientOptions;
  /** The provider's signing keys (private JWKs); the first signs. Default: one new key of `alg`. */
  keys?: PrivateSigningJwk[];
  /** The algorithm of the generated default key and of the client's ID tokens. Default RS256. */
  alg?: SigningAlg;
  /** Serve https with this private key and certificate (PEM; the certificate valid for 127.0.0.1). Default: http. */
  tls?: { key: string; cert: string };
}

/** What findAccount answers for a subject (beside `sub`). */
export interface AccountClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** Claims of an ID token; a claim given as undefined is left out of the token. */
export type IdTokenClaims = { [claim: string]: unknown };

export interface RunningOidcProvider {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`): the same across restarts. */
  readonly issuer: string;
  readonly client: OidcClientOptions;
  /** The private keys the provider signs with (the first) and publishes, as of its last (re)start. */
  readonly keys: PrivateSigningJwk[];
  /** The claims findAccount returns for `sub` from now on (until set again). */
  setAccount(sub: string, claims: AccountClaims): void;
  /**
   * Signs an ID token as the provider would, or as it never would: `iss` (the issuer), `aud` (the
   * client id), `iat` (now) and `exp` (in 10 minutes) are filled in unless `claims` says otherwise,
   * and a claim given as undefined is left out. Signed with the provider's current first key, or
   * with `key` (a private JWK); `kid` replaces the key's own kid in the header.
   */
  signIdToken(claims: IdTokenClaims, options?: { kid?: string; key?: PrivateSigningJwk }): Promise<string>;
  /** Stops listening and drops every open connection (kept-alive ones too): the provider is down. */
  stop(): Promise<void>;
  /** stop(), then listen again on the same port, with `keys` as the new signing key set when given. */
  restart(options?: { keys?: PrivateSigningJwk[] }): Promise<void>;
}

/** A new private signing key, as the provider (or a stranger) would hold it. */
export async function generateSigningKey(alg: SigningAlg = 'RS256', kid = `key-${randomUUID()}`): Promise<PrivateSigningJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

/** Starts the provider on a free loopback port. */
export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  const alg = options.alg ?? options.keys?.[0]?.alg ?? 'RS256';
  let keys = options.keys ?? [await generateSigningKey(alg)];
  const accounts = new Map<string, AccountClaims>();
  // The same cookie keys across restarts, as a provider with several instances would have.
  const cookieKeys = [randomBytes(32).toString('base64url')];
  const client = { ...options.client, redirect_uris: [...options.client.redirect_uris] };
  let issuer = '';
  let port = 0;
  let server: Server | undefined;

  const configuration = () => ({
    clients: [
      {
        client_id: client.client_id,
        client_secret: client.client_secret,
        redirect_uris: client.redirect_uris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        // client_secret_post is accepted as well: oidc-provider takes either for a client of one.
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: keys[0].alg,
      },
    ],
    jwks: { keys },
    cookies: { keys: cookieKeys },
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile'],
    claims: { acr: null, sid: null, auth_time: null, iss: null, openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // By default an ID token that comes with an access token carries no claims of the person
    // (they are for userinfo): a relying party reading them from the ID token would get nothing.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ ...accounts.get(sub), sub }),
    }),
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    renderError: async (ctx: { type: string; body: unknown }, out: Record<string, string>) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });

  const listen = async () => {
    let handler: RequestListener | undefined;
    const build = () => {
      const provider = new Provider(issuer, configuration());
      provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));
      handler = provider.callback();
    };
    if (issuer) build();
    // No kept-alive connections: a client's pooled socket to the provider before a restart would
    // otherwise meet the restart's closing of it, and fail the first request after for no reason
    // of the test's.
    const listener: RequestListener = (req, res) => {
      res.setHeader('connection', 'close');
      handler!(req, res);
    };
    const next: Server = options.tls
      ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
      : createServer(listener);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    // The issuer carries the port, known only once first listening (no request can come before).
    if (!issuer) {
      port = (next.address() as AddressInfo).port;
      issuer = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
      build();
    }
    server = next;
  };

  const stop = async () => {
    const current = server;
    server = undefined;
    if (!current) return;
    await new Promise<void>((resolve) => {
      current.close(() => resolve());
      current.closeAllConnections();
    });
  };

  await listen();

  return {
    get issuer() {
      return issuer;
    },
    client,
    get keys() {
      return keys;
    },
    setAccount(sub, claims) {
      accounts.set(sub, { ...claims });
    },
    async signIdToken(claims, { kid, key } = {}) {
      const signingKey = key ?? keys[0];
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: issuer, aud: client.client_id, iat: now, exp: now + 600 };
      for (const [name, value] of Object.entries(claims)) {
        if (value === undefined) delete payload[name];
        else payload[name] = value;
      }
      return new SignJWT(payload)
        .setProtectedHeader({ alg: signingKey.alg, kid: kid ?? signingKey.kid, typ: 'JWT' })
        .sign(await importJWK(signingKey, signingKey.alg));
    },
    stop,
    async restart(options = {}) {
      await stop();
      if (options.keys) keys = [...options.keys];
      await listen();
    },
  };
}

/** How the walks reach a provider served over https: `ca` (PEM), the certificate authority to trust for it. */
export interface WalkOptions {
  ca?: string;
}

/** Signs `sub` in at the provider and consents: the provider's redirect back to the client (code and state). */
export function signInAtProvider(authorizeUrl: string, sub: string, options: WalkOptions = {}): Promise<string> {
  return walkProvider(authorizeUrl, { sub }, options);
}

/** Cancels at the provider's login page: its redirect back to the client with error=access_denied and the state. */
export function denyAtProvider(authorizeUrl: string, options: WalkOptions = {}): Promise<string> {
  return walkProvider(authorizeUrl, { deny: true }, options);
}

/**
 * One request over https trusting `ca` only, answered as a fetch Response. The test process cannot
 * be told to trust a CA for fetch after it started (NODE_EXTRA_CA_CERTS is read at start), and
 * undici's Agent is not importable here, so https requests go through node:https.
 */
function fetchTrusting(ca: string, url: URL, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: init.method, headers: init.headers, ca, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
        }
        const status = incoming.statusCode ?? 500;
        const body = [101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, headers }));
      });
    });
    request.on('error', reject);
    request.end(init.body);
  });
}

/** Cookies by name and path, as a browser would keep them for one origin. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  take(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, ...rest] = attribute.split('=');
        const attributeValue = rest.join('=');
        if (key.toLowerCase() === 'path') path = attributeValue || '/';
        if (key.toLowerCase() === 'expires' && Date.parse(attributeValue) <= Date.now()) expired = true;
        if (key.toLowerCase() === 'max-age' && Number(attributeValue) <= 0) expired = true;
      }
      const id = `${name}\u0000${path}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.cookies.values()]
      .filter(({ path }) => url.pathname === path || url.pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .map(({ name, value }) => `${name}=${value}`)
      .join('; ');
  }
}

const decodeHtml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"' })[entity] ?? '');

async function walkProvider(authorizeUrl: string, intent: { sub: string } | { deny: true }, { ca }: WalkOptions): Promise<string> {
  const origin = new URL(authorizeUrl).origin;
  const jar = new CookieJar();
  let request: { url: URL; form?: URLSearchParams } = { url: new URL(authorizeUrl) };
  const seen: string[] = [];
  for (let step = 0; step < 20; step++) {
    const { url, form } = request;
    seen.push(`${form ? 'POST' : 'GET'} ${url.pathname}`);
    const cookie = jar.header(url);
    const init = {
      method: form ? 'POST' : 'GET',
      headers: { ...(cookie ? { cookie } : {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: form?.toString(),
    };
    const response =
      ca && url.protocol === 'https:' ? await fetchTrusting(ca, url, init) : await fetch(url, { ...init, redirect: 'manual' });
    jar.take(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      // Leaving the provider: this is the redirect back to the client, not to be followed here.
      if (next.origin !== origin) return next.href;
      request = { url: next };
      continue;
    }
    const page = await response.text();
    const fail = (why: string) =>
      new Error(`at the provider, ${why} (HTTP ${response.status} after ${seen.join(' → ')}):\n${page.slice(0, 2000)}`);
    if (response.status !== 200) throw fail('an error');
    if ('deny' in intent) {
      const cancel = /<a href="([^"]+)">\[ Cancel \]<\/a>/.exec(page);
      if (!cancel) throw fail('no [ Cancel ] link');
      request = { url: new URL(decodeHtml(cancel[1]), url) };
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(page);
    const prompt = /<input type="hidden" name="prompt" value="([^"]+)"\/>/.exec(page);
    if (!action || !prompt) throw fail('a page with no form');
    const fields = new URLSearchParams({ prompt: prompt[1] });
    if (prompt[1] === 'login') {
      fields.set('login', intent.sub);
      fields.set('password', 'any password: the development login checks none');
    } else if (prompt[1] !== 'consent') {
      throw fail(`an unexpected prompt ${prompt[1]}`);
    }
    request = { url: new URL(decodeHtml(action[1]), url), form: fields };
  }
  throw new Error(`the provider never sent the browser back to the client: ${seen.join(' → ')}`);
}
