import type { BlockEngine } from '../ports/block-engine.js'
import type { MetadataStore } from '../ports/metadata-store.js'
import type { ArrayList } from '../schemas/array.js'
import type { Health } from '../schemas/health.js'
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
  const { engine, store, volumes, snapshots, nodeId } = deps

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
