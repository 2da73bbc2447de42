#!/usr/bin/env bash
# Fails when a tracked C file differs from what clang-format makes of it.
set -euo pipefail
cd "$1"
mapfile -t files < <(git ls-files '*.c' '*.h')
bad=0
for f in "${files[@]}"; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run clang-format -i $f)"
		bad=1
	fi
done
echo "${#files[@]} files checked"
exit $bad
