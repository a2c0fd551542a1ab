#!/usr/bin/env bash
# Checks that the repository's C++ follows .clang-format (clang-format-14, from `tools/setup.sh test`).
#   tools/check_format.sh              # every C++ file not listed in tools/format-pending.txt
#   tools/check_format.sh --fix F...   # formats F in place and drops it from the pending list
# tools/format-pending.txt is a ratchet: files written before the format was enforced, removed from
# the list as they are formatted. A file not on the list (every new file) must be formatted; a
# listed file that is already formatted is reported so the list only shrinks.
set -euo pipefail
cd "$(dirname "$0")/.."
cf=$(command -v clang-format-14 || command -v clang-format || true)
[[ -n $cf ]] || { echo "check_format: clang-format-14 is not installed (bash tools/setup.sh test)" >&2; exit 2; }
pending=tools/format-pending.txt

if [[ ${1:-} == --fix ]]; then
  shift
  for f in "$@"; do
    "$cf" -i --style=file "$f"
    grep -vxF "$f" "$pending" >"$pending.new" || true
    mv "$pending.new" "$pending"
  done
  exit 0
fi

declare -A skip
while IFS= read -r f; do [[ -n $f && $f != \#* ]] && skip[$f]=1; done <"$pending"

bad=() clean_listed=()
while IFS= read -r f; do
  [[ -f $f ]] || continue
  if "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1; then
    [[ -n ${skip[$f]:-} ]] && clean_listed+=("$f")
  else
    [[ -z ${skip[$f]:-} ]] && bad+=("$f")
  fi
done < <(git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp' '*.h' '*.cc' | sort -u)

for f in "${clean_listed[@]}"; do
  echo "check_format: $f is formatted now: drop it from $pending" >&2
done
if ((${#bad[@]} > 0)); then
  echo "check_format: ${#bad[@]} file(s) differ from .clang-format; fix with: tools/check_format.sh --fix FILE..." >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ok ($(( $(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc' | wc -l) - ${#skip[@]} )) files checked, ${#skip[@]} pending)"
