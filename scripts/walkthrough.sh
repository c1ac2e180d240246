#!/usr/bin/env bash
# Runs the README's client walkthrough top to bottom: every ```sh block of
# its "Walkthrough" section, in order, with real bash, curl and jq, against a
# fresh Concord started with the variables of the section's ```bash block
# and a local FCM fake. Any answer that is not 2xx fails it (unless the
# command says EXPECT=<status>); where the text says `sleep N`, the server's
# clock moves forward N seconds instead. Every exchange is also checked
# against api/openapi.yaml. (cmd/concord TestREADMEWalkthrough.)
#
#   scripts/walkthrough.sh          # as of now
#   scripts/walkthrough.sh 20:30    # as if it were 20:30 in London
#   VERBOSE=1 scripts/walkthrough.sh   # print every response
set -euo pipefail
cd "$(dirname "$0")/.."
export CONCORD_WALKTHROUGH_AT="${1:-}"
exec go test ./cmd/concord -run '^TestREADMEWalkthrough$' -count=1 ${VERBOSE:+-v}
