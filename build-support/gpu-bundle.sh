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
# The shared script's Java runtime lacks jdk.zipfs, so JUnit's classpath scan threw "Provider "jar" not found" for
# every jar (72 stack traces per test log). Make the runtime here first, with that module; the script keeps an
# existing .gpu/jre.tar.xz. .gpu/jre.modules records the module list it was made with.
modules=java.base,java.logging,java.management,java.naming,java.xml,java.sql,java.desktop,jdk.unsupported,jdk.incubator.vector,jdk.management,java.instrument,jdk.zipfs
if [[ ! -f .gpu/jre.tar.xz || "$(cat .gpu/jre.modules 2>/dev/null)" != "$modules" ]]; then
  mkdir -p .gpu
  jre_tmp=$(mktemp -d)
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --output "$jre_tmp/jre" >/dev/null
  tar -C "$jre_tmp" -cJf .gpu/jre.tar.xz jre
  rm -rf "$jre_tmp"
  printf '%s' "$modules" > .gpu/jre.modules
fi
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
printf '#!/bin/sh\nexec "%s/mvnw" -Dstyle.color=never "$@"\n' "$root" > "$shim/mvn"
chmod +x "$shim/mvn"
PATH=$shim:$PATH bash "$root/../shared/gpu/bundle"
