#!/usr/bin/env bash
# Runs shell commands at once, each into its own log, then prints each log whole with its outcome and time; exits
# non-zero if any failed. Usage: .ci/parallel.sh 'NAME=COMMAND' ['NAME=COMMAND']...
set -uo pipefail
logs=$(mktemp -d "${TMPDIR:-/tmp}/dronewatch-ci-XXXXXX")
names=() pids=()
for job in "$@"; do
  name=${job%%=*} cmd=${job#*=}
  [[ $job == *=* && -n $name && -n $cmd ]] || { echo "parallel.sh: expected NAME=COMMAND, got '$job'" >&2; exit 2; }
  echo "== $name: $cmd (started $(date -u +%H:%M:%S))"
  (
    started=$SECONDS
    bash -c "$cmd"
    rc=$?
    echo "$((SECONDS - started))" > "$logs/$name.seconds"
    exit $rc
  ) > "$logs/$name.log" 2>&1 &
  names+=("$name") pids+=($!)
done
# Interrupted (a CI time limit, Ctrl-C): stop the jobs; their own traps stop the servers they started.
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; exit 130' INT TERM
failed=()
for j in "${!pids[@]}"; do
  wait "${pids[j]}"; rc=$?
  echo "== ${names[j]}: $( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") after $(cat "$logs/${names[j]}.seconds" 2>/dev/null || echo ?) s, its log:"
  cat "$logs/${names[j]}.log"
  ((rc == 0)) || failed+=("${names[j]}")
done
rm -rf "$logs"
if ((${#failed[@]} > 0)); then echo "== failed: ${failed[*]}"; exit 1; fi
echo "== all passed: ${names[*]}"
