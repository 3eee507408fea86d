#!/usr/bin/env bash
# Set up, index the sample corpora (the two seeds and bbc-news) into ./index, and serve the UI.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPORA=${CORPORA:-../shared/corpora}
bash scripts/setup.sh
.venv/bin/newsfacet index "$CORPORA/seeds"
.venv/bin/newsfacet index "$CORPORA/bbc-news" --outlet BBC
exec .venv/bin/newsfacet serve --host 127.0.0.1 --port "${PORT:-8000}"
