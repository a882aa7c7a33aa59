import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';

const INLINE_SCRIPT = /<script>([\s\S]*?)<\/script>/g;

/**
 * A Content-Security-Policy for the Swagger UI page: its scripts and styles from this server only
 * (the one inline script that starts it allowed by its hash), requests to this server only, and
 * no framing. Swagger UI sets styles inline, hence 'unsafe-inline' for styles alone.
 */
export function docsSecurityPolicy(): MiddlewareHandler<AppEnv> {
  let policy: { page: string; header: string } | undefined;
  return async (c, next) => {
    await next();
    if (c.res.status !== 200) return;
    const page = await c.res.text();
    if (policy?.page !== page) {
      const hashes = [...page.matchAll(INLINE_SCRIPT)].map(
        ([, script]) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`,
      );
      const header = [
        "default-src 'none'",
        `script-src 'self' ${hashes.join(' ')}`,
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join('; ');
      policy = { page, header };
    }
    c.res = new Response(page, c.res);
    c.res.headers.set('Content-Security-Policy', policy.header);
  };
}
