import type { PStorage } from '@pstorage/core'
import type { MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { AppEnv } from './env.js'

/** The part of the flash engine's `flashDetails()` that `/metrics` exports. */
interface MediumFigures {
  readonly segments: { readonly free: number }
  readonly write_amplification: number
  readonly medium_bytes_written: {
    readonly host: number
    readonly gc: number
    readonly wear_leveling: number
  }
}
interface MediumDetails {
  flashDetails(): Promise<MediumFigures>
}

/**
 * Request logs and Prometheus metrics of one app: every request is logged as one JSON line
 * (request id, method, route, status, duration, actor) and counted per route and status.
 */
export function createObservability(pstorage: PStorage, logger: Logger) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'pstorage_' })
  const labels = ['method', 'route', 'status'] as const
  const requests = new Counter({
    name: 'pstorage_http_requests_total',
    help: 'HTTP requests',
    labelNames: labels,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'pstorage_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: labels,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  })
  // Engine figures are read when Prometheus scrapes, so they are never stale or invented.
  const engineGauge = (
    name: string,
    help: string,
    read: (s: Awaited<ReturnType<PStorage['engine']['stats']>>) => number,
  ) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(read(await pstorage.engine.stats()))
      },
    })
  engineGauge(
    'pstorage_reduction_ratio',
    'Overall data reduction ratio',
    (s) => s.reduction.overall_reduction_ratio,
  )
  engineGauge(
    'pstorage_flash_used_bytes',
    'Physical bytes used on the medium',
    (s) => s.flash.capacity.used_bytes,
  )
  engineGauge(
    'pstorage_flash_free_bytes',
    'Physical bytes free on the medium',
    (s) => s.flash.capacity.free_bytes,
  )
  engineGauge(
    'pstorage_gc_runs_total',
    'Garbage collection runs',
    (s) => s.flash.garbage_collection.gc_runs,
  )
  engineGauge(
    'pstorage_bytes_saved_total',
    'Bytes saved by data reduction',
    (s) =>
      s.reduction.bytes_saved.pattern +
      s.reduction.bytes_saved.dedupe +
      s.reduction.bytes_saved.compression,
  )

  // Medium counters only the flash engine has (`flashDetails()`); other engines skip them.
  const details = (pstorage.engine as Partial<MediumDetails>).flashDetails
  if (typeof details === 'function') {
    const mediumGauge = (name: string, help: string, read: (d: MediumFigures) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(read(await details.call(pstorage.engine)))
        },
      })
    mediumGauge(
      'pstorage_medium_bytes_written_total',
      'Bytes written to the medium (host, GC, wear leveling)',
      (d) =>
        d.medium_bytes_written.host +
        d.medium_bytes_written.gc +
        d.medium_bytes_written.wear_leveling,
    )
    mediumGauge(
      'pstorage_free_segments',
      'Free (erased) segments of the medium',
      (d) => d.segments.free,
    )
    mediumGauge(
      'pstorage_write_amplification',
      'Medium bytes written per host byte',
      (d) => d.write_amplification,
    )
  }

  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const started = performance.now()
    await next()
    const seconds = (performance.now() - started) / 1000
    const route = c.req.routePath === '/*' ? 'unmatched' : c.req.routePath
    const values = { method: c.req.method, route, status: String(c.res.status) }
    requests.inc(values)
    latency.observe(values, seconds)
    const principal = c.get('principal')
    logger.info(
      {
        req_id: c.get('requestId'),
        method: c.req.method,
        route,
        status: c.res.status,
        duration_ms: Math.round(seconds * 1e4) / 10,
        actor: principal ? `${principal.kind}:${principal.id}` : undefined,
      },
      'request',
    )
  }
  return { registry, middleware }
}
