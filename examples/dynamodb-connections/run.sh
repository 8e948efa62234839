#!/usr/bin/env bash
# Runs the example with one command: dynalite (a local DynamoDB, pinned in package-lock.json) on
# port 4567, then wsgate serving template.yaml with DynamoDB pointed at it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")"
DYNAMODB_PORT="${DYNAMODB_PORT:-4567}"
[ -x node_modules/.bin/dynalite ] || npm ci --no-audit --no-fund --loglevel=error
node_modules/.bin/dynalite --host 127.0.0.1 --port "$DYNAMODB_PORT" &
dynalite=$!
trap 'kill $dynalite 2>/dev/null || true' EXIT INT TERM
# No AWS credentials are needed: wsgate signs requests to a local endpoint with placeholders
# when it finds none.
go run ../../cmd/wsgate serve --template template.yaml \
  --aws-endpoint-url "dynamodb=http://127.0.0.1:$DYNAMODB_PORT" "$@"
