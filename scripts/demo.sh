#!/usr/bin/env bash
# Set up, index the demo corpora (the two seeds, bbc-news, fakenewsnet-content: every facet,
# dated articles from many outlets) into ./index, and serve the UI as soon as their text is
# searchable. Named entities are found behind, while the server runs: the facet sidebar
# says their counts are partial until they are all in (its log: index/entities.log).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPORA=${CORPORA:-../shared/corpora}
NEWSFACET=.venv/bin/newsfacet
bash scripts/setup.sh
# The text stage alone: each run is searchable from its first commit.
$NEWSFACET index "$CORPORA/seeds" "$CORPORA/fakenewsnet-content" --text-only
$NEWSFACET index "$CORPORA/bbc-news" --outlet BBC --text-only
# The entity stage, behind (a run killed with the server goes on where it stopped next time).
$NEWSFACET index "$CORPORA/seeds" --quiet > index/entities.log 2>&1 &
trap 'kill $! 2>/dev/null || true' EXIT
$NEWSFACET serve --host 127.0.0.1 --port "${PORT:-8000}"
