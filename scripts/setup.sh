#!/usr/bin/env bash
# One command from a fresh clone to a built image: installs everything, builds the busybox base
# image from Debian's static busybox, builds the multi-stage `hello` fixture on it, lists both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
./bin/tsbuild.js build --progress plain --build-context busybox-bin="$(dirname "$(readlink -f "$(command -v busybox)")")" -t busybox fixtures/busybox
./bin/tsbuild.js build --progress plain -t hello fixtures/hello
./bin/tsbuild.js images
