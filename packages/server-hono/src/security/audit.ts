import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../env.js'
import { type Router, routeKey } from './access.js'
import { clientIp } from './rate-limit.js'

/** One audit row, as core's identity `audit.record` takes it. */
export interface AuditRecord {
  readonly at: string
  readonly request_id: string
  readonly actor_type: 'user' | 'api_key' | 'anonymous'
  readonly actor_id: string | null
  readonly actor_name: string | null
  readonly role: string | null
  readonly ip: string | null
  readonly user_agent: string | null
  readonly method: string
  readonly route: string
  readonly action: string
  readonly resource_type: string | null
  readonly resource_id: string | null
  readonly outcome: 'success' | 'denied' | 'error'
  readonly status: number
  readonly detail: string | null
}

/** Where audit rows go (append-only). */
export interface AuditSink {
  record(entry: AuditRecord): Promise<unknown>
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** The resource of a request: the most specific path parameter, else the id a 201 returned. */
async function resourceOf(c: Parameters<MiddlewareHandler<AppEnv>>[0]) {
  const params = c.req.param() as Record<string, string>
  const names = Object.keys(params)
  const last = names[names.length - 1]
  if (last) return { type: last.replace(/_id$/, ''), id: params[last] ?? null }
  if (c.res.status === 201 && c.res.headers.get('content-type')?.includes('json')) {
    const body = (await c.res
      .clone()
      .json()
      .catch(() => undefined)) as { id?: unknown } | undefined
    const segment = c.req.routePath.split('/').filter(Boolean).pop() ?? null
    return { type: segment, id: typeof body?.id === 'string' ? body.id : null }
  }
  return { type: c.req.routePath.split('/').filter(Boolean).pop() ?? null, id: null }
}

/**
 * Records every mutating request and every auth event after it is answered: who (user or
 * key, role), from where, what (route, operation, resource), and how it ended. A failing
 * sink is logged, never turned into a failed request.
 */
export function audit(
  sink: AuditSink,
  router: Router,
  onError: (error: unknown) => void,
): MiddlewareHandler<AppEnv> {
  const actions = new Map(router.routes().map((r) => [routeKey(r.method, r.path), r.operationId]))
  return async (c, next) => {
    await next()
    const isAuth = c.req.path.startsWith('/api/v1/auth/')
    if (!MUTATING.has(c.req.method) && !isAuth) return
    const principal = c.get('principal')
    const status = c.res.status
    const resource = await resourceOf(c)
    const entry: AuditRecord = {
      at: new Date().toISOString(),
      request_id: c.get('requestId') ?? '',
      actor_type: principal?.kind ?? 'anonymous',
      actor_id: principal?.id ?? null,
      actor_name: principal
        ? principal.kind === 'user'
          ? principal.username
          : principal.name
        : null,
      role: principal?.role ?? null,
      ip: clientIp(c),
      user_agent: c.req.header('user-agent') ?? null,
      method: c.req.method,
      route: c.req.routePath,
      action:
        actions.get(`${c.req.method} ${c.req.routePath}`) ?? `${c.req.method} ${c.req.routePath}`,
      resource_type: resource.type,
      resource_id: resource.id,
      outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'error',
      status,
      detail: null,
    }
    await sink.record(entry).catch(onError)
  }
}
