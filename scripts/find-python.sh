#!/usr/bin/env bash
# Prints the path of a Python interpreter of the version asked for (e.g. 3.10), looking on
# the PATH and in pyenv's versions (a pyenv shim fails when another version is selected).
set -u
want="$1"
candidates=("python$want")
if command -v pyenv >/dev/null 2>&1; then
  for dir in "$(pyenv root)"/versions/"$want"*/bin; do candidates+=("$dir/python$want"); done
fi
for candidate in "${candidates[@]}"; do
  if "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" >/dev/null 2>&1; then
    command -v "$candidate"
    exit 0
  fi
done
echo "error: Python $want is needed but was not found on the PATH nor in pyenv." >&2
echo "       Install it (for example 'pyenv install $want' or 'apt-get install python$want')" >&2
echo "       and run the command again." >&2
exit 1
