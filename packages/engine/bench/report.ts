/**
 * Figures of the engine benchmark: what one run of one system yields, the medians over
 * runs, the targets of issue 3 and the markdown table. Units are decimal: 1 MB = 10^6 bytes.
 */

/** What one run of one system measured. */
export interface SystemRun {
  /** Wall seconds of the ingest (the whole process for restic/borg, the writes for the engine). */
  readonly ingestSeconds: number
  /** Wall seconds of the read-back, or null (the baseline reads nothing back). */
  readonly readSeconds: number | null
  /** Bytes stored: `du` of the repository or data directory; the baseline's sum of payloads. */
  readonly physicalBytes: number
  /** Peak RSS of the process doing the work (`/usr/bin/time -v`). */
  readonly peakRssBytes: number
  /** Read-back matched the images' SHA-256, or null when there is no read-back. */
  readonly verified: boolean | null
  /** System-specific figures for `--json`. */
  readonly details: Readonly<Record<string, unknown>>
}

/** One row of the table: medians over runs (peak RSS: the maximum). */
export interface Row {
  readonly system: string
  readonly ingest_mb_s: number
  readonly read_mb_s: number | null
  readonly physical_bytes: number
  readonly reduction_ratio: number
  readonly peak_rss_mb: number
  readonly verified: boolean | null
  readonly runs: readonly SystemRun[]
}

const MB = 1e6
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** Aggregates the runs of one system over `logical` bytes. */
export function toRow(system: string, logical: number, runs: readonly SystemRun[]): Row {
  const reads = runs.map((r) => r.readSeconds).filter((s) => s !== null)
  const physical = median(runs.map((r) => r.physicalBytes))
  return {
    system,
    ingest_mb_s: round(median(runs.map((r) => logical / MB / r.ingestSeconds)), 1),
    read_mb_s: reads.length > 0 ? round(median(reads.map((s) => logical / MB / s)), 1) : null,
    physical_bytes: physical,
    reduction_ratio: round(logical / physical, 2),
    peak_rss_mb: round(Math.max(...runs.map((r) => r.peakRssBytes)) / MB, 0),
    verified: runs.some((r) => r.verified === false)
      ? false
      : runs.every((r) => r.verified === null)
        ? null
        : true,
    runs,
  }
}

/** One target of issue 3 and whether the run met it. */
export interface Target {
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

/** Checks the targets of issue 3 against the rows (by their fixed system names). */
export function checkTargets(rows: readonly Row[], names: Readonly<Record<string, string>>) {
  const get = (key: string) => rows.find((r) => r.system === names[key])
  const engine = get('engine')
  const dense = get('dense')
  const restic = get('restic')
  const borg = get('borg')
  const baseline = get('baseline')
  const out: Target[] = []
  if (engine && restic && borg) {
    const peer = Math.max(restic.ingest_mb_s, borg.ingest_mb_s)
    out.push({
      target: 'ingest >= 1.5x the faster of restic and borg',
      measured: `${engine.ingest_mb_s} vs 1.5 x ${peer} = ${round(1.5 * peer, 1)} MB/s`,
      met: engine.ingest_mb_s >= 1.5 * peer,
    })
  }
  if (engine && baseline)
    out.push({
      target: 'ingest >= the in-process baseline',
      measured: `${engine.ingest_mb_s} vs ${baseline.ingest_mb_s} MB/s`,
      met: engine.ingest_mb_s >= baseline.ingest_mb_s,
    })
  for (const row of [engine, dense]) {
    if (!row || row.read_mb_s === null) continue
    out.push({
      target: `read-back >= ingest (${row.system})`,
      measured: `${row.read_mb_s} vs ${row.ingest_mb_s} MB/s`,
      met: row.read_mb_s >= row.ingest_mb_s,
    })
    out.push({
      target: `peak RSS <= 300 MB (${row.system})`,
      measured: `${row.peak_rss_mb} MB`,
      met: row.peak_rss_mb <= 300,
    })
  }
  if (engine && baseline)
    out.push({
      target: 'lz4 reduction >= the 4 KiB LZ4 baseline',
      measured: `${engine.reduction_ratio} vs ${baseline.reduction_ratio}`,
      met: engine.reduction_ratio >= baseline.reduction_ratio,
    })
  if (dense && restic)
    out.push({
      target: 'dense reduction > restic',
      measured: `${dense.reduction_ratio} vs ${restic.reduction_ratio}`,
      met: dense.reduction_ratio > restic.reduction_ratio,
    })
  return out
}

const cell = (x: number | null) => (x === null ? '-' : String(x))

/** The markdown table of the rows and the list of targets. */
export function markdown(rows: readonly Row[], targets: readonly Target[]): string {
  const lines = [
    '| system | ingest MB/s | read-back MB/s | physical MB | reduction | peak RSS MB | verified |',
    '|---|---:|---:|---:|---:|---:|---|',
  ]
  for (const r of rows) {
    const verified = r.verified === null ? '-' : r.verified ? 'yes' : 'NO'
    lines.push(
      `| ${r.system} | ${r.ingest_mb_s} | ${cell(r.read_mb_s)} | ${round(r.physical_bytes / MB, 1)} | ${r.reduction_ratio} | ${r.peak_rss_mb} | ${verified} |`,
    )
  }
  lines.push('', '| target | measured | met |', '|---|---|---|')
  for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`)
  return lines.join('\n')
}
