/**
 * Swagger UI at /docs in a real browser (Chromium driven by playwright-core): authorize
 * with a dev token, run GET /users/me through "Try it out", see the 200 rendered. The page must
 * load everything from the service itself: any request to another origin fails the test (and is
 * aborted, so nothing leaves the machine); and it must work under its Content-Security-Policy.
 *
 * The browser opens the service at 127.0.0.2, not 127.0.0.1 or localhost: Swagger UI treats those
 * two names specially (it skips its online validator badge for them), and the test should see the
 * page as a user on a real host name does.
 *
 * The browser is @sparticuz/chromium's: a Chromium that comes inside an npm package (unpacked into
 * the temp directory on first use), so `npm test` needs nothing but Node and npm — no system
 * package and no download from a browser CDN, which playwright would otherwise want.
 */
import { mkdir } from 'node:fs/promises';
import portableChromium from '@sparticuz/chromium';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useServer } from '../support/use-server.js';
import { signUp } from '../support/world.js';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = 'test-results/swagger-ui.png';

const app = useServer({ HOST: '127.0.0.2' });
let browser: Browser;
let origin: string;

beforeAll(async () => {
  origin = app.server.baseUrl.replace('//127.0.0.1:', '//127.0.0.2:');
  browser = await chromium.launch({ executablePath: await portableChromium.executablePath(), headless: true, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
});

describe('Swagger UI at /docs', () => {
  it('authorizes with a dev token and runs GET /users/me through "Try it out", all from this origin', async () => {
    const { token, user } = await signUp(origin, 'Browser');
    const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
    const page = await context.newPage();

    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    // Nothing may leave the machine: a request to any other origin is aborted here and fails below.
    await page.route('**/*', (route) =>
      new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient'),
    );
    const pageErrors: string[] = [];
    // The page works under its Content-Security-Policy: the browser reports no refused script or style.
    const refusedByPolicy: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refusedByPolicy.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));

    const docs = await page.goto(`${origin}/docs`);
    expect(docs?.status()).toBe(200);
    expect(docs?.headers()['content-security-policy']).toMatch(/script-src 'self' 'sha256-/);
    await expect(page.title()).resolves.toBe('co-order API');
    // The document loaded: its title and the operation are on the page.
    await page.locator('.swagger-ui .info .title', { hasText: 'co-order API' }).waitFor();
    const getMe = page.locator('#operations-users-getMe');
    await getMe.waitFor();

    // Authorize: the bearerAuth scheme takes the token as is.
    await page.locator('.swagger-ui .auth-wrapper button.authorize').click();
    const dialog = page.locator('.swagger-ui .dialog-ux .modal-ux');
    // The dialog has a form per scheme; the other one is the operator's metrics token.
    const bearerForm = dialog.locator('form').filter({ hasText: 'bearerAuth' });
    await bearerForm.locator('input[type="text"]').fill(token);
    await bearerForm.locator('button.authorize[type="submit"]').click();
    await bearerForm.locator('button.btn-done').click();
    await dialog.waitFor({ state: 'detached' });

    // GET /users/me → Try it out → Execute.
    await getMe.locator('.opblock-summary').click();
    await getMe.locator('button.try-out__btn').click();
    await getMe.locator('button.execute').click();

    // The server's answer as Swagger UI renders it: status 200 and the user as the response body.
    const live = getMe.locator('.live-responses-table');
    await live.locator('tr.response .response-col_status', { hasText: '200' }).first().waitFor();
    const body = live.locator('tr.response .response-col_description pre', { hasText: user.email! }).first();
    await body.waitFor();
    expect((await live.locator('tr.response .response-col_status').first().textContent())?.trim()).toBe('200');
    const rendered = JSON.parse((await body.textContent())!) as Record<string, unknown>;
    expect(rendered).toEqual(user);
    // The request Swagger UI made carried the token, and no pre-filled If-None-Match: the curl it shows says so.
    const curl = await getMe.locator('.curl-command').textContent();
    expect(curl).toContain(`Authorization: Bearer ${token}`);
    expect(curl).not.toContain('If-None-Match');

    // The operation at the top of the screen: its parameters, the curl, the 200 and the body below.
    await getMe.evaluate((element) => element.scrollIntoView({ block: 'start' }));
    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });

    // Everything came from the service: the page, its assets, the document and the API call.
    const foreign = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    expect(foreign).toEqual([]);
    expect(requested).toEqual(
      expect.arrayContaining([
        `${origin}/docs`,
        `${origin}/docs/assets/swagger-ui-dist/swagger-ui-bundle.js`,
        `${origin}/docs/assets/swagger-ui-dist/swagger-ui.css`,
        `${origin}/openapi.json`,
        expect.stringMatching(new RegExp(`^${origin.replaceAll('.', '\\.')}/users/me\\b`)),
      ]),
    );
    expect(pageErrors).toEqual([]);
    expect(refusedByPolicy).toEqual([]);
    await context.close();
  });
});
