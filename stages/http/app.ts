import { Hono } from 'hono';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { limitBody } from './body.ts';
import { errorResponse } from './errors.ts';
import { observe } from './observability.ts';
import { buildOpenApi } from './openapi.ts';
import type { AppDeps } from './ports.ts';
import { createRouter, type Env, type Router } from './router.ts';
import { addAckRoutes } from './routes/acks.ts';
import { addDeviceRoutes } from './routes/devices.ts';
import { addInboxRoutes } from './routes/inbox.ts';
import { addMessageRoutes } from './routes/messages.ts';
import { addOpsRoutes } from './routes/ops.ts';
import { addPreferenceRoutes } from './routes/preferences.ts';
import { addProviderRoutes } from './routes/providers.ts';
import { addScheduledRoutes } from './routes/scheduled.ts';
import { addThreadMessageRoutes } from './routes/thread-messages.ts';
import { addThreadRoutes } from './routes/threads.ts';
import { createValidators } from './validators.ts';

/**
 * The facade as a Hono app, built from its dependencies so tests and the bench run exactly what
 * production runs. Nothing here opens a connection: `deps.ts` does that.
 */
export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const validators = createValidators({ ...deps.limits, clock: deps.clock });

  app.use(observe(deps.log, deps.registry));
  app.use(
    limitBody(deps.limits.bodyLimitBytes, () => {
      throw new MsgxcError('PAYLOAD_TOO_LARGE', `the body is larger than ${deps.limits.bodyLimitBytes} bytes`, {
        status: 413,
      });
    }),
  );
  app.onError((error, c) => errorResponse(c, error, c.get('log') ?? deps.log));
  app.notFound((c) => {
    // A path that exists with other methods (TRACE, or PUT where only GET is served) is a 405 with Allow.
    const allowed = allowedMethods(router.specs, c.req.path);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      return c.json({ error: 'METHOD_NOT_ALLOWED', message: `${c.req.method} is not allowed here` }, 405);
    }
    return c.json({ error: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` }, 404);
  });

  const router = createRouter(app, deps);
  addOpsRoutes(router, deps, () => openApi);
  // One file per resource under routes/, one line each here.
  addDeviceRoutes(router, deps, validators);
  addThreadRoutes(router, deps, validators);
  addMessageRoutes(router, deps, validators);
  addPreferenceRoutes(router, deps, validators);
  addScheduledRoutes(router, deps, validators);
  addAckRoutes(router, deps, validators);
  addThreadMessageRoutes(router, deps, validators);
  addProviderRoutes(router, deps);
  addInboxRoutes(router, deps);
  const openApi = buildOpenApi(router.specs);
  return app;
}

/** The methods routes declare for `path` (HEAD with GET, as Hono serves it). */
function allowedMethods(specs: Router['specs'], path: string): string[] {
  const methods = new Set<string>();
  for (const spec of specs) {
    const pattern = new RegExp(`^${spec.path.replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`);
    if (!pattern.test(path)) continue;
    methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') methods.add('HEAD');
  }
  return [...methods];
}
