#!/usr/bin/env bash
# The repository is self-contained: code and docs cite only what is in it. Fails on a reference
# to notes kept outside the repository, or to a source a reader cannot open ("the article").
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\.\./shared|shared/(API-FACTS|BROWSER-TESTING|STYLE)|/work/|\b(the|source) article\b|article'"'"'s'
if hits=$(git grep -nIiE "$pattern" -- . ':!scripts/check-self-contained.sh' ':!*.lock' ':!package-lock.json'); then
  echo "[self-contained] these lines cite what is not in the repository:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "[self-contained] no reference outside the repository"
