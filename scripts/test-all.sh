#!/usr/bin/env bash
# `make test`: every check in order, a table of results and one closing summary line.
# A check that depends on a failed one (no model, no tests on it) is reported as skipped.
set -u
cd "$(dirname "$0")/.."
mkdir -p reports
declare -a names=() results=()
failed=0

step() {
  local name="$1"; shift
  echo
  echo "=== $name: $*"
  if "$@"; then results+=("passed"); else results+=("FAILED"); failed=$((failed + 1)); fi
  names+=("$name")
}

skip() { names+=("$1"); results+=("skipped"); }

step "install" make --no-print-directory install
if [ "${results[0]}" != passed ]; then
  echo "summary: 0 passed, 1 failed"
  exit 1
fi
step "browser" make --no-print-directory browser
step "nginx" make --no-print-directory nginx
step "ruff" bash -c '.venv/bin/ruff check bot actions tests bench scripts && .venv/bin/ruff format --check bot actions tests bench scripts'
step "mypy" .venv/bin/mypy
step "rasa data validate" make --no-print-directory validate
step "rasa train" make --no-print-directory train
if [ "${results[-1]}" = passed ]; then
  step "rasa test (conversations)" .venv-rasa/bin/rasa test core --stories tests \
    --fail-on-prediction-errors --out reports/rasa-core
  step "pytest" .venv/bin/pytest -p no:cacheprovider "$@"
else
  skip "rasa test (conversations)"
  skip "pytest"
fi

echo
echo "=== make test"
passed=0
for i in "${!names[@]}"; do
  printf '  %-28s %s\n' "${names[$i]}" "${results[$i]}"
  [ "${results[$i]}" = passed ] && passed=$((passed + 1))
done
notrun=$(( ${#names[@]} - passed - failed ))
echo "summary: $passed passed, $failed failed, $notrun skipped"
[ "$failed" -eq 0 ] && [ "$notrun" -eq 0 ]
