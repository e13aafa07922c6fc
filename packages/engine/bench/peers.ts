/**
 * The peers of the engine benchmark, on the same image files in the same run: `restic
 * backup` (Debian restic, repository version 2, compression auto, local repository,
 * password from `RESTIC_PASSWORD`) then `restic restore`, and `borg create --compression
 * lz4` (Debian borgbackup, local repository, encryption none) then `borg extract`. All five
 * images go into one snapshot/archive, so they dedupe against each other. Each run gets a
 * fresh repository and cache; ingest and read-back are the wall time of the whole command,
 * peak RSS is `/usr/bin/time -v`'s, physical bytes are `du` of the repository.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ImageFile } from './dataset.js'
import type { SystemRun } from './report.js'
import { duBytes, measure, run, sha256File } from './tools.js'

/** Names of the restored images whose SHA-256 differs from the manifest's. */
async function mismatches(images: readonly ImageFile[], root: string): Promise<string[]> {
  const out: string[] = []
  for (const image of images) {
    const restored = join(root, image.path.replace(/^\/+/, ''))
    const sha = await sha256File(restored).catch(() => 'missing')
    if (sha !== image.sha256) out.push(image.name)
  }
  return out
}

/**
 * `restic backup` of the images, then `restic restore` of the snapshot, verified.
 *
 * @example
 * ```ts
 * const figures = await runRestic(dataset.images, tmpdir())
 * ```
 */
export async function runRestic(images: readonly ImageFile[], workDir: string): Promise<SystemRun> {
  const dir = mkdtempSync(join(workDir, 'restic-'))
  const repo = join(dir, 'repo')
  const target = join(dir, 'restore')
  const env = {
    ...process.env,
    RESTIC_REPOSITORY: repo,
    RESTIC_PASSWORD: process.env.RESTIC_PASSWORD ?? 'pstorage-bench',
    RESTIC_CACHE_DIR: join(dir, 'cache'),
    RESTIC_PROGRESS_FPS: '0.1',
  }
  try {
    await run('restic', ['init', '--repository-version', '2', '-q'], { env })
    const paths = images.map((i) => i.path)
    const backup = await measure(
      'restic',
      ['backup', '--compression', 'auto', '--host', 'pstorage-bench', '-q', ...paths],
      { env },
    )
    const physical = await duBytes(repo)
    const restore = await measure('restic', ['restore', 'latest', '--target', target, '-q'], {
      env,
    })
    const bad = await mismatches(images, target)
    return {
      ingestSeconds: backup.seconds,
      readSeconds: restore.seconds,
      physicalBytes: physical,
      peakRssBytes: Math.max(backup.peakRssBytes, restore.peakRssBytes),
      verified: bad.length === 0,
      details: {
        mismatches: bad,
        backup_peak_rss_bytes: backup.peakRssBytes,
        restore_peak_rss_bytes: restore.peakRssBytes,
        backup_cpu_percent: backup.cpuPercent,
        restore_cpu_percent: restore.cpuPercent,
      },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * `borg create --compression lz4` of the images, then `borg extract` of the archive, verified.
 *
 * @example
 * ```ts
 * const figures = await runBorg(dataset.images, tmpdir())
 * ```
 */
export async function runBorg(images: readonly ImageFile[], workDir: string): Promise<SystemRun> {
  const dir = mkdtempSync(join(workDir, 'borg-'))
  const repo = join(dir, 'repo')
  const target = join(dir, 'extract')
  mkdirSync(target)
  const env = {
    ...process.env,
    BORG_REPO: repo,
    BORG_PASSPHRASE: '',
    BORG_BASE_DIR: join(dir, 'home'),
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
  }
  try {
    await run('borg', ['init', '--encryption', 'none'], { env })
    const paths = images.map((i) => i.path)
    const create = await measure('borg', ['create', '--compression', 'lz4', '::bench', ...paths], {
      env,
    })
    const physical = await duBytes(repo)
    const extract = await measure('borg', ['extract', '::bench'], { env, cwd: target })
    const bad = await mismatches(images, target)
    return {
      ingestSeconds: create.seconds,
      readSeconds: extract.seconds,
      physicalBytes: physical,
      peakRssBytes: Math.max(create.peakRssBytes, extract.peakRssBytes),
      verified: bad.length === 0,
      details: {
        mismatches: bad,
        create_peak_rss_bytes: create.peakRssBytes,
        extract_peak_rss_bytes: extract.peakRssBytes,
        create_cpu_percent: create.cpuPercent,
        extract_cpu_percent: extract.cpuPercent,
      },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
