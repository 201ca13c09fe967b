#!/usr/bin/env bash
# README command (a): install dependencies, build, generate a sample workspace tree locally
# (no network beyond apt) and run the main job on it.
#   scripts/demo.sh [TREE_DIR]      (default /tmp/wsdedup-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build/release wsdedup wsdedup-gentree
tree=${1:-/tmp/wsdedup-demo}
if [[ ! -d $tree ]]; then
  echo "generating a sample workspace tree in $tree ..."
  build/release/tests/wsdedup-gentree "$tree" --workspaces 24 --packages 120
fi
build/release/src/wsdedup estimate "$tree" --workspaces 'spec-tasks/*' --top 5
