# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts/test: prints one closing line with the JUnit counts of every surefire and failsafe report under target/
# (the run's own reports only: scripts/test cleans them first), whether the build passed or failed.
knot_test_summary() {
  local tests=0 failures=0 errors=0 skipped=0 f line
  for f in $(find . \( -path '*/surefire-reports/TEST-*.xml' -o -path '*/failsafe-reports/TEST-*.xml' \) -not -path './.git/*' 2>/dev/null); do
    line=$(grep -m1 -o '<testsuite [^>]*>' "$f") || continue
    tests=$((tests + $(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")))
    failures=$((failures + $(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line")))
    errors=$((errors + $(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$line")))
    skipped=$((skipped + $(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$line")))
  done
  local failed=$((failures + errors))
  echo "tests: $((tests - failed - skipped)) passed, $failed failed, $skipped skipped"
}
