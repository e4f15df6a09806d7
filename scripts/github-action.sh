#!/usr/bin/env bash
# The GitHub Action's run step (action.yml): runs `shipcheck check`, writes the Markdown report
# to the job summary ($GITHUB_STEP_SUMMARY), leaves SARIF for code scanning, sets the outputs
# ($GITHUB_OUTPUT: go, sarif, markdown) and exits with check's code, so a no-go fails the job.
# Inputs come as INPUT_* variables, as GitHub passes them:
#   INPUT_PROFILE (default shipcheck.yaml), INPUT_ENVIRONMENT, INPUT_PHASE, INPUT_FAIL_ON,
#   INPUT_ARGS (more arguments, split on white space).
set -uo pipefail
shipcheck=${SHIPCHECK_BIN:-shipcheck}
out_dir=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/shipcheck
mkdir -p "$out_dir"
sarif="$out_dir/shipcheck.sarif"
markdown="$out_dir/shipcheck.md"
args=(check --profile "${INPUT_PROFILE:-shipcheck.yaml}" --no-record
  --report "sarif=$sarif" --report "markdown=$markdown")
[ -n "${INPUT_ENVIRONMENT:-}" ] && args+=(--env "$INPUT_ENVIRONMENT")
[ -n "${INPUT_PHASE:-}" ] && args+=(--phase "$INPUT_PHASE")
[ -n "${INPUT_FAIL_ON:-}" ] && args+=(--fail-on "$INPUT_FAIL_ON")
if [ -n "${INPUT_ARGS:-}" ]; then
  read -r -a extra <<<"$INPUT_ARGS"
  args+=("${extra[@]}")
fi
status=0
"$shipcheck" "${args[@]}" || status=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$markdown" ]; then
  cat "$markdown" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "go=$([ "$status" -eq 0 ] && echo true || echo false)"
    echo "exit-code=$status"
    [ -s "$sarif" ] && echo "sarif=$sarif"
    [ -s "$markdown" ] && echo "markdown=$markdown"
  } >>"$GITHUB_OUTPUT"
fi
case "$status" in
  0) echo "::notice title=shipcheck::Gate: GO" ;;
  1) echo "::error title=shipcheck::Gate: NO-GO (see the job summary)" ;;
  *) echo "::error title=shipcheck::shipcheck could not run (exit $status)" ;;
esac
exit "$status"
