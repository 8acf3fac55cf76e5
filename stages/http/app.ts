import { Hono } from 'hono';
import { MsgxcError } from '../../pipeline/errors/index.ts';
import { limitBody } from './body.ts';
import { errorResponse } from './errors.ts';
import { observe } from './observability.ts';
import { buildOpenApi } from './openapi.ts';
import type { AppDeps } from './ports.ts';
import { createRouter, type Env } from './router.ts';
import { addFlowRoutes } from './routes/flow.ts';
import { addInboxRoutes } from './routes/inbox.ts';
import { addMessageRoutes } from './routes/messages.ts';
import { addOpsRoutes } from './routes/ops.ts';
import { addProviderRoutes } from './routes/providers.ts';
import { addScheduledRoutes } from './routes/scheduled.ts';
import { addSeedRoutes } from './routes/seed.ts';
import { addThreadRoutes } from './routes/threads.ts';
import { addUserRoutes } from './routes/users.ts';
import { createValidators } from './validators.ts';

/**
 * The facade as a Hono app, built from its dependencies so tests and the bench run exactly what
 * production runs. Nothing here opens a connection: `deps.ts` does that.
 */
export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  const validators = createValidators({ messageMaxBytes: deps.limits.messageMaxBytes });

  app.use(observe(deps.log, deps.registry));
  app.use(
    limitBody(deps.limits.bodyLimitBytes, () => {
      throw new MsgxcError('PAYLOAD_TOO_LARGE', `the body is larger than ${deps.limits.bodyLimitBytes} bytes`, {
        status: 413,
      });
    }),
  );
  app.onError((error, c) => errorResponse(c, error, c.get('log') ?? deps.log));
  app.notFound((c) => c.json({ error: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}` }, 404));

  const router = createRouter(app, deps);
  addOpsRoutes(router, deps, () => openApi);
  addSeedRoutes(router, deps, validators);
  addThreadRoutes(router, deps, validators);
  addUserRoutes(router, deps, validators);
  addMessageRoutes(router, deps, validators);
  addScheduledRoutes(router, deps, validators);
  addFlowRoutes(router, deps, validators);
  addProviderRoutes(router, deps);
  addInboxRoutes(router, deps);
  const openApi = buildOpenApi(router.specs);
  return app;
}
