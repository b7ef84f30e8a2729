#!/usr/bin/env bash
# Packs the built project into .gpu/ for the GPU machine (see ../shared/gpu/README.md), working around two
# traps: the shared bundle script resolves dev.flare artifacts from ~/.m2 (so we install first), and the
# system Maven 3.8.7 prints colour codes into `help:evaluate`, which breaks its groupId exclusion (so `mvn`
# is pointed at our wrapper with colours off).
#   build-support/gpu-bundle.sh [extra maven args, e.g. -Dflare.cuda.archs=sm_90a]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
./mvnw -q -B -Dstyle.color=never -DskipTests install "$@"
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
printf '#!/bin/sh\nexec "%s/mvnw" -Dstyle.color=never "$@"\n' "$root" > "$shim/mvn"
chmod +x "$shim/mvn"
PATH=$shim:$PATH bash "$root/../shared/gpu/bundle"
