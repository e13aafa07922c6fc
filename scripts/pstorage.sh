#!/usr/bin/env bash
# The README's two commands land here: `npm start` and `npm test`.
#
#   bash scripts/pstorage.sh start [server flags]   build, then serve on :8000 from ./data
#   bash scripts/pstorage.sh test  [vitest args]    build, then run every package's tests
#   bash scripts/pstorage.sh bench-api [--json]       the API benchmark (README of server-hono)
#   bash scripts/pstorage.sh bench-engine [--json]    the engine benchmark (README of engine)
#   bash scripts/pstorage.sh bench-backends [--json]  the backend benchmark (READMEs of adapters-*)
#   bash scripts/pstorage.sh check                  formatter/linter, types, generated client drift
#   bash scripts/pstorage.sh <pnpm args>            anything else, with the project's Node and pnpm
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

prepare() {
  # A lockfile is committed: CI must install exactly it.
  if [ -n "${CI:-}" ]; then pnpm install --frozen-lockfile --reporter=append-only
  else pnpm install --reporter=silent; fi
  pnpm -r --filter './packages/*' run build
}

cmd="${1:-test}"; shift || true
case "$cmd" in
  start) prepare; exec env MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --max-old-space-size=512 --expose-gc packages/server-hono/dist/bin.js "$@" ;; # flags of bin.ts's #! line
  test) prepare; exec pnpm exec vitest run "$@" ;;
  bench-api) prepare; exec node packages/server-hono/bench/api.ts "$@" ;;
  bench-engine) prepare; exec node packages/engine/bench/engine.ts "$@" ;;
  bench-backends) prepare; exec node packages/server-hono/bench/backends.ts "$@" ;;
  check)
    prepare
    pnpm exec biome ci .
    pnpm -r --filter './packages/*' --filter ./examples run typecheck
    pnpm --filter @pstorage/client run generate:check
    ;;
  *) exec pnpm "$cmd" "$@" ;;
esac
