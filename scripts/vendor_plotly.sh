#!/bin/sh
# Re-fetch the plotly.js partial bundle raikit ships (scatter, bar, pie) and check its integrity.
# Usage: scripts/vendor_plotly.sh   (needs npm; writes src/raikit/_static/plotly-basic.*)
set -eu
PACKAGE=plotly.js-basic-dist-min
VERSION=4.1.1
INTEGRITY="sha512-1oNF8PeQx2hv/y7tqEVWKD3JGwn/MGEMQ8mL9HUwsaqG9FGy/OU5FHUHvzqbqxN4mnwZGI9abTiE775C4kkjMQ=="
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "$PACKAGE@$VERSION" >/dev/null
TARBALL="$PACKAGE-$VERSION.tgz"
GOT="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | base64 | tr -d '\n')"
if [ "$GOT" != "$INTEGRITY" ]; then
    echo "integrity mismatch for $TARBALL: got $GOT, expected $INTEGRITY" >&2
    exit 1
fi
tar xzf "$TARBALL"
cp package/plotly-basic.min.js "$HERE/src/raikit/_static/plotly-basic.min.js"
cp package/LICENSE "$HERE/src/raikit/_static/plotly-basic.LICENSE"
echo "vendored $PACKAGE $VERSION ($GOT)"
