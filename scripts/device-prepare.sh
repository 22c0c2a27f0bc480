#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for scripts/device-bench.ts on a lent GPU machine that has
# no Node.js: a compressed Node binary, the onnxruntime-node package (linux x64 only), the
# bundled bench, the default backbone graph and a scoring head emitted from a model bundle.
#   bash scripts/device-prepare.sh MODEL.bgad
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: device-prepare.sh MODEL.bgad}
rm -rf .device && mkdir -p .device/node_modules
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
for p in onnxruntime-node onnxruntime-common; do cp -r "node_modules/$p" .device/node_modules/; done
find .device/node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -path '*/linux/x64' -exec rm -rf {} + 2>/dev/null || true
xz -T2 -6 .device/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
npx esbuild scripts/device-bench.ts --bundle --platform=node --format=esm --external:onnxruntime-node \
  --banner:js="import { createRequire as __c } from 'node:module'; const require = __c(import.meta.url);" --outfile=.device/device-bench.mjs --log-level=warning
npx esbuild scripts/device-emit.ts --bundle --platform=node --format=esm --packages=external \
  --banner:js="import { createRequire as __c } from 'node:module'; const require = __c(import.meta.url);" --outfile=node_modules/.cache/device-emit.mjs --log-level=warning
node node_modules/.cache/device-emit.mjs "$model" .device
du -sh .device
