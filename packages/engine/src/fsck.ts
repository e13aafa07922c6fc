import type { IntegrityIssue } from '@pstorage/core'
import type { EngineContext } from './context.js'
import { decodeSegmentHeader, peekRecord, SEGMENT_HEADER_SIZE } from './segment-format.js'
import type { SegmentRow } from './segment-table.js'

/** Issues reported at most, so a badly broken store cannot exhaust memory. */
const MAX_ISSUES = 1000

type Report = (kind: string, detail: string) => void

/**
 * Checks the metadata against itself and against the segment files: reference counts
 * equal references, no dangling reference, block-map entries well formed, used bytes
 * and segment accounting agree with their rows, no two live blocks share bytes of a
 * segment, and every live block's record is in the segment's chain with the header
 * the index expects. Payloads are scrub's job.
 *
 * @example
 * ```ts
 * const issues = await fsck(ctx) // [] when consistent
 * ```
 */
export async function fsck(ctx: EngineContext): Promise<IntegrityIssue[]> {
  const issues: IntegrityIssue[] = []
  const report: Report = (kind, detail) => {
    if (issues.length < MAX_ISSUES) issues.push({ kind, detail })
  }
  checkReferences(ctx, report)
  for (const segment of ctx.segments.inState('free')) {
    const n = ctx.blocks.inSegment(segment.id).length
    if (n > 0)
      report(
        'live_block_in_free_segment',
        `Segment ${segment.id} is free but holds ${n} live blocks`,
      )
  }
  for (const state of ['open', 'sealed'] as const) {
    for (const segment of ctx.segments.inState(state)) await checkSegment(ctx, segment, report)
  }
  for (const role of ['user', 'relocation'] as const) {
    const open = ctx.segments.open(role).length
    if (open > 1) report('open_segments', `${open} segments are open for ${role} writes`)
  }
  const maxId = ctx.blocks.maxId()
  if (maxId >= ctx.state.nextPblockId)
    report('block_ids', `Block id ${maxId} is not below the next id ${ctx.state.nextPblockId}`)
  return issues
}

function checkReferences(ctx: EngineContext, report: Report): void {
  const rows = <T>(sql: string) => ctx.db.prepare<[], T>(sql).iterate()
  for (const r of rows<{ id: number; refs: number; n: number }>(
    `SELECT p.id, p.refs, COALESCE(c.n, 0) AS n FROM pblocks p
     LEFT JOIN (SELECT pblock, COUNT(*) AS n FROM block_map WHERE pblock IS NOT NULL GROUP BY pblock) c ON c.pblock = p.id
     WHERE p.refs != COALESCE(c.n, 0)`,
  )) {
    report('refcount_mismatch', `Block ${r.id} counts ${r.refs} references but has ${r.n}`)
  }
  for (const r of rows<{ map_id: number; idx: number; pblock: number }>(
    'SELECT m.map_id, m.idx, m.pblock FROM block_map m LEFT JOIN pblocks p ON p.id = m.pblock WHERE m.pblock IS NOT NULL AND p.id IS NULL',
  )) {
    report(
      'dangling_reference',
      `Map ${r.map_id} block ${r.idx} references missing block ${r.pblock}`,
    )
  }
  for (const r of rows<{ map_id: number; idx: number }>(
    `SELECT m.map_id, m.idx FROM block_map m LEFT JOIN pblocks p ON p.id = m.pblock
     WHERE m.len < 1 OR m.len > 4096 OR (m.pblock IS NULL) = (m.pattern IS NULL)
        OR (m.pattern IS NOT NULL AND length(m.pattern) NOT IN (1, 2, 4, 8))
        OR (p.id IS NOT NULL AND p.logical_len != m.len)
        OR m.map_id NOT IN (SELECT id FROM maps)`,
  )) {
    report('bad_entry', `Map ${r.map_id} block ${r.idx} is malformed or orphaned`)
  }
  for (const r of rows<{ name: string; used_bytes: number; actual: number }>(
    `SELECT m.name, m.used_bytes, COALESCE(SUM(b.len), 0) AS actual FROM maps m
     LEFT JOIN block_map b ON b.map_id = m.id GROUP BY m.id HAVING m.used_bytes != actual`,
  )) {
    report(
      'used_bytes_mismatch',
      `${r.name} records ${r.used_bytes} used bytes, its map holds ${r.actual}`,
    )
  }
  for (const r of rows<{ id: number }>('SELECT id FROM pblocks WHERE refs <= 0')) {
    report('unreferenced_block', `Block ${r.id} has no references but was not reaped`)
  }
}

async function checkSegment(
  ctx: EngineContext,
  segment: SegmentRow,
  report: Report,
): Promise<void> {
  const blocks = ctx.blocks.inSegment(segment.id)
  const live = blocks.reduce((n, b) => n + b.record_len, 0)
  if (
    live !== segment.live_bytes ||
    blocks.length !== segment.live_blocks ||
    blocks.length > segment.records
  ) {
    report(
      'segment_accounting',
      `Segment ${segment.id} records ${segment.live_blocks} live blocks/${segment.live_bytes} bytes, the index has ${blocks.length}/${live}`,
    )
  }
  const bytes = await ctx.files.read(segment.id, 0, segment.write_offset)
  const header = decodeSegmentHeader(bytes)
  if (
    typeof header === 'string' ||
    header.segmentId !== segment.id ||
    header.segmentSize !== ctx.geometry.segmentSize
  ) {
    report(
      'segment_header',
      `Segment ${segment.id}: ${typeof header === 'string' ? header : 'header names another segment or size'}`,
    )
    return
  }
  // Walk the chain of records: every live block must start one of them.
  const starts = new Map<number, ReturnType<typeof peekRecord>>()
  let at = SEGMENT_HEADER_SIZE
  while (at < segment.write_offset) {
    const record = peekRecord(bytes, at)
    if (typeof record === 'string') {
      report('segment_chain', `Segment ${segment.id} offset ${at}: ${record}`)
      break
    }
    starts.set(at, record)
    at += 64 + record.storedLength
  }
  let prevEnd = SEGMENT_HEADER_SIZE
  for (const block of blocks) {
    if (block.offset < prevEnd)
      report(
        'double_reference',
        `Block ${block.id} overlaps another live block in segment ${segment.id} at ${block.offset}`,
      )
    prevEnd = Math.max(prevEnd, block.offset + block.record_len)
    if (block.offset + block.record_len > segment.write_offset) {
      report(
        'out_of_bounds',
        `Block ${block.id} ends past the committed end of segment ${segment.id}`,
      )
      continue
    }
    const record = starts.get(block.offset)
    if (record === undefined) {
      report(
        'index_mismatch',
        `Block ${block.id}: no record starts at segment ${segment.id} offset ${block.offset}`,
      )
    } else if (
      typeof record === 'string' ||
      record.pblockId !== block.id ||
      record.codec !== block.codec ||
      record.logicalLength !== block.logical_len ||
      64 + record.storedLength !== block.record_len ||
      !record.fingerprint.equals(block.fingerprint)
    ) {
      report(
        'index_mismatch',
        `Block ${block.id}: the record at segment ${segment.id} offset ${block.offset} does not match the index`,
      )
    }
  }
}
