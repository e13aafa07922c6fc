import type { IntegrityIssue } from '@pstorage/core'
import { popcount } from './compute.js'
import type { EngineContext } from './context.js'
import { liveShare } from './reap.js'
import {
  decodeSegmentHeader,
  MAX_CHUNK_SPAN,
  peekRecord,
  RECORD_HEADER_SIZE,
  type RecordHeader,
  SEGMENT_HEADER_SIZE,
} from './segment-format.js'
import type { SegmentRow } from './segment-table.js'

/** Issues reported at most, so a badly broken store cannot exhaust memory. */
const MAX_ISSUES = 1000

type Report = (kind: string, detail: string) => void

/**
 * Checks the metadata against itself and against the segment files: reference counts
 * equal references, no dangling reference, extents well formed and not overlapping, block
 * lengths agree with the chunks holding them, used bytes and chunk and segment accounting
 * agree with their rows, no two chunks share bytes of a segment, and every chunk's record
 * is in its segment's chain with the header the index expects. Payloads are scrub's job.
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
  checkIndex(ctx, report)
  checkExtents(ctx, report)
  checkChunks(ctx, report)
  for (const segment of ctx.segments.inState('free')) {
    const n = ctx.chunks.inSegment(segment.id).length
    if (n > 0)
      report('live_block_in_free_segment', `Segment ${segment.id} is free but holds ${n} chunks`)
  }
  for (const state of ['open', 'sealed'] as const) {
    for (const segment of ctx.segments.inState(state)) await checkSegment(ctx, segment, report)
  }
  for (const role of ['user', 'relocation'] as const) {
    const open = ctx.segments.open(role).length
    if (open > 1) report('open_segments', `${open} segments are open for ${role} writes`)
  }
  const maxId = Math.max(ctx.blocks.maxId(), ctx.chunks.endId() - 1)
  if (maxId >= ctx.state.nextPblockId)
    report('block_ids', `Block id ${maxId} is not below the next id ${ctx.state.nextPblockId}`)
  return issues
}

/** Each physical block an extent references, with the weight of the reference. */
const REFERENCED = `SELECT p.id AS id, SUM(CASE WHEN e.step = 0 THEN e.n ELSE 1 END) AS k
  FROM extents e JOIN pblocks p ON p.id BETWEEN e.pblock AND e.pblock + (e.n - 1) * e.step
  WHERE e.pblock IS NOT NULL GROUP BY p.id`

function checkReferences(ctx: EngineContext, report: Report): void {
  const rows = <T>(sql: string) => ctx.db.prepare<[], T>(sql).iterate()
  for (const r of rows<{ id: number; refs: number; n: number }>(
    `SELECT p.id, p.refs, COALESCE(r.k, 0) AS n FROM pblocks p LEFT JOIN (${REFERENCED}) r ON r.id = p.id
     WHERE p.refs != COALESCE(r.k, 0)`,
  )) {
    report('refcount_mismatch', `Block ${r.id} counts ${r.refs} references but has ${r.n}`)
  }
  for (const r of rows<{ map_id: number; idx: number; n: number; step: number; have: number }>(
    `SELECT e.map_id, e.idx, e.n, e.step,
       (SELECT COUNT(*) FROM pblocks p WHERE p.id BETWEEN e.pblock AND e.pblock + (e.n - 1) * e.step) AS have
     FROM extents e WHERE e.pblock IS NOT NULL`,
  )) {
    if (r.have !== (r.step === 0 ? 1 : r.n))
      report('dangling_reference', `Map ${r.map_id} blocks from ${r.idx} reference missing blocks`)
  }
  for (const r of rows<{ map_id: number; idx: number }>(
    `SELECT e.map_id, e.idx FROM extents e
     JOIN pblocks p ON p.id = e.pblock + (e.n - 1) * e.step JOIN chunks c ON c.id = p.id - p.slot
     WHERE (CASE WHEN c.span = 1 THEN c.raw_len ELSE 4096 END) != e.tail
     UNION
     SELECT e.map_id, e.idx FROM extents e
     JOIN pblocks p ON e.n > 1 AND p.id BETWEEN e.pblock AND e.pblock + (e.n - 2) * e.step
     JOIN chunks c ON c.id = p.id - p.slot
     WHERE c.span = 1 AND c.raw_len != 4096`,
  )) {
    report(
      'bad_entry',
      `Map ${r.map_id} blocks from ${r.idx}: a block's length differs from its chunk's`,
    )
  }
  for (const r of rows<{ name: string; used_bytes: number; actual: number }>(
    `SELECT m.name, m.used_bytes, COALESCE(SUM((e.n - 1) * 4096 + e.tail), 0) AS actual FROM maps m
     LEFT JOIN extents e ON e.map_id = m.id GROUP BY m.id HAVING m.used_bytes != actual`,
  )) {
    report(
      'used_bytes_mismatch',
      `${r.name} records ${r.used_bytes} used bytes, its map holds ${r.actual}`,
    )
  }
  for (const r of rows<{ id: number }>('SELECT id FROM pblocks WHERE refs <= 0')) {
    report('unreferenced_block', `Block ${r.id} has no references but was not reaped`)
  }
  for (const r of rows<{ id: number }>(
    `SELECT p.id FROM pblocks p LEFT JOIN chunks c ON c.id = p.id - p.slot
     WHERE c.id IS NULL OR p.slot < 0 OR p.slot >= c.span OR ((c.mask >> p.slot) & 1) = 0`,
  )) {
    report('orphan_block', `Block ${r.id} is not held by its chunk`)
  }
}

/** The dedupe index holds every block below the watermark, under its key, and nothing else. */
function checkIndex(ctx: EngineContext, report: Report): void {
  const watermark = ctx.fpIndex.watermark
  for (const r of ctx.db
    .prepare<[number], { id: number }>(
      `SELECT p.id FROM pblocks p WHERE p.id < ? AND NOT EXISTS
         (SELECT 1 FROM fp_index x WHERE x.key = substr(p.fp, 1, 8) AND x.id = p.id)`,
    )
    .iterate(watermark)) {
    report('index_missing', `Block ${r.id} is below the index watermark but not indexed`)
  }
  for (const r of ctx.db
    .prepare<[number], { id: number }>(
      `SELECT x.id FROM fp_index x LEFT JOIN pblocks p ON p.id = x.id
       WHERE p.id IS NULL OR x.id >= ? OR substr(p.fp, 1, 8) != x.key`,
    )
    .iterate(watermark)) {
    report('index_stray', `The dedupe index names block ${r.id}, which is not there under that key`)
  }
}

function checkExtents(ctx: EngineContext, report: Report): void {
  const maps = new Set(
    ctx.db
      .prepare<[], { id: number }>('SELECT id FROM maps')
      .all()
      .map((m) => m.id),
  )
  let prev: { map_id: number; idx: number; n: number } | undefined
  for (const e of ctx.db
    .prepare<
      [],
      {
        map_id: number
        idx: number
        n: number
        tail: number
        pblock: number | null
        step: number
        pattern: Buffer | null
      }
    >('SELECT * FROM extents ORDER BY map_id, idx')
    .iterate()) {
    const bad =
      !maps.has(e.map_id) ||
      e.n < 1 ||
      e.idx < 0 ||
      e.tail < 1 ||
      e.tail > 4096 ||
      (e.pblock === null) === (e.pattern === null) ||
      (e.pattern !== null && ![1, 2, 4, 8].includes(e.pattern.length)) ||
      (e.step !== 0 && e.step !== 1)
    if (bad) report('bad_entry', `Map ${e.map_id} blocks from ${e.idx} are malformed or orphaned`)
    if (prev && prev.map_id === e.map_id && prev.idx + prev.n > e.idx) {
      report('bad_entry', `Map ${e.map_id}: extents at ${prev.idx} and ${e.idx} overlap`)
    }
    prev = e
  }
}

function checkChunks(ctx: EngineContext, report: Report): void {
  let prevEnd = 0
  for (const c of ctx.db
    .prepare<
      [],
      {
        id: number
        span: number
        mask: number
        present: number
        live: number
        raw_len: number
        n: number
      }
    >(
      `SELECT c.id, c.span, c.mask, c.present, c.live, c.raw_len,
         (SELECT COUNT(*) FROM pblocks p WHERE p.id BETWEEN c.id AND c.id + c.span - 1) AS n
       FROM chunks c ORDER BY c.id`,
    )
    .iterate()) {
    if (c.id < prevEnd) report('chunk_overlap', `Chunk ${c.id} overlaps the chunk before it`)
    prevEnd = c.id + c.span
    const shape =
      c.span >= 1 &&
      c.span <= MAX_CHUNK_SPAN &&
      c.mask >>> 0 < 2 ** c.span &&
      popcount(c.mask) === c.present &&
      c.present >= 1 &&
      (c.span === 1 ? c.raw_len >= 1 && c.raw_len <= 4096 : c.raw_len === c.present * 4096)
    if (!shape) report('bad_chunk', `Chunk ${c.id} is malformed`)
    if (c.live !== c.n || c.n === 0) {
      report(
        'chunk_accounting',
        `Chunk ${c.id} counts ${c.live} live members, the index has ${c.n}`,
      )
    }
  }
}

async function checkSegment(
  ctx: EngineContext,
  segment: SegmentRow,
  report: Report,
): Promise<void> {
  const chunks = ctx.chunks.inSegment(segment.id)
  const live = chunks.reduce((n, c) => n + liveShare(c.record_len, c.live, c.present), 0)
  const liveBlocks = chunks.reduce((n, c) => n + c.live, 0)
  const present = chunks.reduce((n, c) => n + c.present, 0)
  if (
    live !== segment.live_bytes ||
    chunks.length !== segment.live_records ||
    liveBlocks !== segment.live_blocks ||
    chunks.length > segment.records ||
    present > segment.blocks
  ) {
    report(
      'segment_accounting',
      `Segment ${segment.id} records ${segment.live_records} live chunks/${segment.live_blocks} blocks/${segment.live_bytes} bytes, the index has ${chunks.length}/${liveBlocks}/${live}`,
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
  // Walk the chain of records: every chunk must start one of them.
  const starts = new Map<number, RecordHeader>()
  let at = SEGMENT_HEADER_SIZE
  while (at < segment.write_offset) {
    const record = peekRecord(bytes, at)
    if (typeof record === 'string') {
      report('segment_chain', `Segment ${segment.id} offset ${at}: ${record}`)
      break
    }
    starts.set(at, record)
    at += RECORD_HEADER_SIZE + record.storedLength
  }
  let prevEnd = SEGMENT_HEADER_SIZE
  for (const chunk of chunks) {
    if (chunk.offset < prevEnd)
      report(
        'double_reference',
        `Chunk ${chunk.id} overlaps another chunk in segment ${segment.id} at ${chunk.offset}`,
      )
    prevEnd = Math.max(prevEnd, chunk.offset + chunk.record_len)
    if (chunk.offset + chunk.record_len > segment.write_offset) {
      report(
        'out_of_bounds',
        `Chunk ${chunk.id} ends past the committed end of segment ${segment.id}`,
      )
      continue
    }
    const record = starts.get(chunk.offset)
    if (record === undefined) {
      report(
        'index_mismatch',
        `Chunk ${chunk.id}: no record starts at segment ${segment.id} offset ${chunk.offset}`,
      )
    } else if (
      record.chunkId !== chunk.id ||
      record.codec !== chunk.codec ||
      record.span !== chunk.span ||
      record.mask >>> 0 !== chunk.mask >>> 0 ||
      record.rawLength !== chunk.raw_len ||
      RECORD_HEADER_SIZE + record.storedLength !== chunk.record_len
    ) {
      report(
        'index_mismatch',
        `Chunk ${chunk.id}: the record at segment ${segment.id} offset ${chunk.offset} does not match the index`,
      )
    }
  }
}
