#!/bin/sh
# Prints bin/version.json for the given platforms (run from agent/ after the binaries are built).
set -eu
printf '{"version":"%s","binaries":{' "$VERSION"
sep=""
for p in "$@"; do
	f="bin/vm-agent-$p"
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	size=$(wc -c < "$f" | tr -d ' ')
	printf '%s"%s":{"sha256":"%s","size":%s}' "$sep" "$p" "$sum" "$size"
	sep=","
done
printf '}}\n'
