import { randomUUID } from 'node:crypto'
import { rm, statfs, writeFile } from 'node:fs/promises'
import { freemem, totalmem } from 'node:os'
import { join } from 'node:path'
import type { BlockEngine } from '../ports/block-engine.js'
import type { Clock } from '../ports/clock.js'
import type { MetadataStore } from '../ports/metadata-store.js'
import type { ArrayList } from '../schemas/array.js'
import type { Health, HealthDetailed } from '../schemas/health.js'
import type { AllMetrics, ReplicationMetrics, VolumeMetrics } from '../schemas/metrics.js'
import type { SnapshotRepository, VolumeRepository } from '../store/repositories.js'
import { PSTORAGE_VERSION } from '../version.js'

/** What {@link createSystemService} reads. */
export interface SystemDeps {
  readonly engine: BlockEngine
  readonly store: MetadataStore
  readonly volumes: VolumeRepository
  readonly snapshots: SnapshotRepository
  /** This node's id in `/arrays` and, later, the cluster. */
  readonly nodeId: string
  /** The data directory whose health `/health/detailed` reports; none for in-memory setups. */
  readonly dataDir?: string
  readonly clock: Clock
}

/** Below this share of free disk, or above this flash utilization, health is `degraded`. */
const LOW_SPACE = 0.05
const HIGH_UTILIZATION = 0.9

type Status = 'healthy' | 'degraded' | 'unhealthy'
const worst = (...statuses: Status[]): Status =>
  statuses.includes('unhealthy')
    ? 'unhealthy'
    : statuses.includes('degraded')
      ? 'degraded'
      : 'healthy'
const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Probes a directory for real: a file is written and removed, and the file system's space read. */
async function probeDirectory(
  path: string | undefined,
): Promise<HealthDetailed['checks']['data_directory']> {
  if (path === undefined) {
    return {
      status: 'healthy',
      path: null,
      exists: false,
      writable: false,
      total_bytes: null,
      free_bytes: null,
    }
  }
  const space = await statfs(path).catch(() => undefined)
  const probe = join(path, `.health-${randomUUID()}`)
  const writable = await writeFile(probe, 'ok')
    .then(() => rm(probe))
    .then(() => true)
    .catch(() => false)
  const total = space ? space.blocks * space.bsize : null
  const free = space ? space.bavail * space.bsize : null
  const low = total !== null && free !== null && total > 0 && free / total < LOW_SPACE
  return {
    status: !space || !writable ? 'unhealthy' : low ? 'degraded' : 'healthy',
    path,
    exists: space !== undefined,
    writable,
    total_bytes: total,
    free_bytes: free,
  }
}

/** Until clustering exists, replication reports exactly the seed's disabled shape. */
const REPLICATION_DISABLED: ReplicationMetrics = Object.freeze({
  enabled: false,
  message: 'Clustering is not enabled',
})

/**
 * Health, the array and the metrics documents of seeds/001, all computed from the
 * engine's counters and the metadata store: nothing is invented.
 *
 * @example
 * ```ts
 * const { status } = await pstorage.system.health()
 * ```
 */
export function createSystemService(deps: SystemDeps) {
  const { engine, store, volumes, snapshots, nodeId, clock } = deps

  const volumeMetrics = async (): Promise<VolumeMetrics> => {
    const rows = await volumes.all()
    const usage = await Promise.all(rows.map((row) => engine.volumeStats(row.id)))
    const byVolume = await snapshots.countByVolume()
    return {
      volumes: {
        total: rows.length,
        provisioned_bytes: rows.reduce((sum, row) => sum + Number(row.size_bytes), 0),
        used_bytes: usage.reduce((sum, u) => sum + u.used_bytes, 0),
      },
      snapshots: {
        total: Object.values(byVolume).reduce((sum, n) => sum + n, 0),
        by_volume: byVolume,
      },
    }
  }

  return Object.freeze({
    /** `GET /health`: healthy when the metadata store and the engine both answer. */
    async health(): Promise<Health> {
      const [dbOk, stats] = await Promise.all([store.ping(), engine.stats().catch(() => undefined)])
      return {
        status: dbOk && stats ? 'healthy' : 'unhealthy',
        reduction_ratio: stats?.reduction.overall_reduction_ratio ?? 1,
        cluster_enabled: false,
      }
    },

    /** `GET /health/detailed`: database, data directory, engine, memory and uptime, each checked. */
    async healthDetailed(): Promise<HealthDetailed> {
      const [dbOk, directory, engineCheck] = await Promise.all([
        store.ping(),
        probeDirectory(deps.dataDir),
        engine.stats().then(
          ({ flash }) =>
            ({
              status: flash.capacity.utilization > HIGH_UTILIZATION ? 'degraded' : 'healthy',
              error: null,
              utilization: flash.capacity.utilization,
              garbage_collection: flash.garbage_collection.state,
            }) as const,
          (error: unknown) =>
            ({
              status: 'unhealthy',
              error: message(error),
              utilization: null,
              garbage_collection: null,
            }) as const,
        ),
      ])
      const database = {
        status: dbOk ? 'healthy' : 'unhealthy',
        error: dbOk ? null : 'no answer',
      } as const
      const memory = process.memoryUsage()
      return {
        status: worst(database.status, directory.status, engineCheck.status),
        timestamp: clock.now().toISOString(),
        service: 'pstorage',
        version: PSTORAGE_VERSION,
        checks: {
          database,
          data_directory: directory,
          engine: engineCheck,
          system: {
            memory: {
              rss_bytes: memory.rss,
              heap_used_bytes: memory.heapUsed,
              total_bytes: totalmem(),
              available_bytes: freemem(),
            },
            uptime_seconds: process.uptime(),
          },
        },
      }
    },

    /** `GET /api/v1/arrays`: this node as one array with live capacity. */
    async arrays(): Promise<ArrayList> {
      const { flash, reduction } = await engine.stats()
      return {
        arrays: [
          {
            id: nodeId,
            name: 'PStorage',
            model: 'PStorage Virtual Array',
            version: PSTORAGE_VERSION,
            capacity: {
              total_bytes: flash.capacity.total_bytes,
              used_bytes: flash.capacity.used_bytes,
              reduction_ratio: reduction.overall_reduction_ratio,
            },
          },
        ],
      }
    },

    /** `GET /api/v1/metrics`: every metrics document at once. */
    async metrics(): Promise<AllMetrics> {
      const [{ reduction, flash }, volumesDoc] = await Promise.all([
        engine.stats(),
        volumeMetrics(),
      ])
      return { reduction, flash, volumes: volumesDoc, replication: REPLICATION_DISABLED }
    },

    volumeMetrics,

    /** `GET /api/v1/metrics/replication`. */
    async replication(): Promise<ReplicationMetrics> {
      return REPLICATION_DISABLED
    },
  })
}

export type SystemService = ReturnType<typeof createSystemService>
