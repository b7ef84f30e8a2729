#!/usr/bin/env bash
# Compiles every CUDA kernel source under SRC_DIR into a fatbin under OUT_DIR.
#
#   build-support/nvcc-build.sh SRC_DIR OUT_DIR
#
# SRC_DIR/<package path>/<ClassName>.cu  ->  OUT_DIR/<package path>/<ClassName>.fatbin
# (OUT_DIR is added to the module's resources, so the fatbin is loaded with
# getResourceAsStream("<ClassName>.fatbin") from the Java class <package>.<ClassName>.)
#
# Called by the "cuda-kernels" profile of the parent pom (generate-resources), see docs/build.md.
#
# Environment:
#   FLARE_CUDA_ARCHS  targets, comma or space separated (Maven: -Dflare.cuda.archs=...):
#                     sm_NN / NN -> SASS for sm_NN, compute_NN -> PTX for compute_NN.
#                     Default: sm_80,sm_90a,compute_80
#   FLARE_NVCC        "none": skip CUDA (CPU-only build); a path: use that nvcc.
#   CUDA_HOME         searched first for bin/nvcc.
#   FLARE_NVCC_JOBS   parallel nvcc processes (default: nproc).
#   FLARE_NVCC_DEFINES extra nvcc flags, space separated, e.g. a kernel knob "-DFLARE_BWD_DQ_BULK=1" (kernel-experiments.sh
#                     builds the variants' fatbins for the Java tests this way). Default: none.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 SRC_DIR OUT_DIR" >&2
  exit 2
fi
SRC_DIR=$(cd "$1" && pwd)
OUT_DIR=$2
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

cpu_only() {
  echo "[flare] WARNING: $1: building CPU-only; CUDA kernels are not included"
  # no kernels from an earlier build either (copies already in target/classes go with `mvn clean`)
  find "$OUT_DIR" \( -name '*.fatbin' -o -name .nvcc-flags \) -type f -delete
  exit 0
}

# ---- find nvcc ---------------------------------------------------------------------------
find_nvcc() {
  local c d
  if [[ -n "${CUDA_HOME:-}" && -x "$CUDA_HOME/bin/nvcc" ]]; then echo "$CUDA_HOME/bin/nvcc"; return; fi
  if c=$(command -v nvcc 2>/dev/null); then echo "$c"; return; fi
  if [[ -x /usr/local/cuda/bin/nvcc ]]; then echo /usr/local/cuda/bin/nvcc; return; fi
  # /usr/local/cuda-X.Y, newest version first
  while IFS= read -r d; do
    if [[ -x "$d/bin/nvcc" ]]; then echo "$d/bin/nvcc"; return; fi
  done < <(printf '%s\n' /usr/local/cuda-* | sort -rV)
  return 1
}

case "${FLARE_NVCC:-}" in
  none) cpu_only "nvcc disabled by FLARE_NVCC=none" ;;
  "")   NVCC=$(find_nvcc) ||
          cpu_only "nvcc not found (looked in CUDA_HOME, PATH, /usr/local/cuda*)" ;;
  *)    [[ -x "$FLARE_NVCC" ]] || { echo "[flare] ERROR: FLARE_NVCC=$FLARE_NVCC is not an executable nvcc" >&2; exit 1; }
        NVCC=$FLARE_NVCC ;;
esac

# ---- targets -----------------------------------------------------------------------------
ARCHS=${FLARE_CUDA_ARCHS:-}
[[ -n "${ARCHS//[ ,]/}" ]] || ARCHS="sm_80,sm_90a,compute_80"
GENCODE=()
for a in ${ARCHS//,/ }; do
  case "$a" in
    compute_*) GENCODE+=(-gencode "arch=$a,code=$a") ;;                       # PTX (JIT on newer GPUs)
    sm_*)      GENCODE+=(-gencode "arch=compute_${a#sm_},code=$a") ;;          # SASS
    [0-9]*)    GENCODE+=(-gencode "arch=compute_$a,code=sm_$a") ;;             # SASS, short form
    *) echo "[flare] ERROR: bad CUDA arch '$a' in flare.cuda.archs (want sm_NN, NN or compute_NN)" >&2; exit 1 ;;
  esac
done
# --compress-mode=size: the default mode left the flash-attention fatbin at 9.7 MB (sm_90a alone, mostly -lineinfo
# tables); size mode packs it into 0.8 MB. The driver decompresses on load (CUDA 13 drivers, which these need anyway).
# -Xptxas -v: its C75xx messages say that ptxas serialized wgmma products or injected their synchronization itself
# (the Hopper attention kernels must order their own fences and waits); a build that gets one fails below.
read -r -a DEFINES <<< "${FLARE_NVCC_DEFINES:-}"
NVCC_FLAGS=(-fatbin -O3 -std=c++17 --expt-relaxed-constexpr -lineinfo --compress-mode=size -Xptxas -v -I "$SRC_DIR"
            "${GENCODE[@]}" "${DEFINES[@]}")

# ---- what is out of date -----------------------------------------------------------------
mapfile -d '' SOURCES < <(cd "$SRC_DIR" && find . -name '*.cu' -type f -print0 | sort -z)
# newest header anywhere in SRC_DIR: touching it rebuilds every kernel
NEWEST_HEADER=$(cd "$SRC_DIR" && find . -name '*.cuh' -type f -printf '%T@ %p\n' | sort -rn | head -1 | cut -d' ' -f2-)
# different nvcc or flags than last time: rebuild everything (stamp is not packaged: only *.fatbin is)
STAMP="$OUT_DIR/.nvcc-flags"
FLAGS_NOW="$NVCC ${NVCC_FLAGS[*]}"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$FLAGS_NOW" ]]; then
  find "$OUT_DIR" -name '*.fatbin' -type f -delete
  printf '%s\n' "$FLAGS_NOW" > "$STAMP"
fi
# drop fatbins whose .cu is gone
while IFS= read -r -d '' f; do
  rel=${f#"$OUT_DIR"/}
  [[ -f "$SRC_DIR/${rel%.fatbin}.cu" ]] || rm -f "$f"
done < <(find "$OUT_DIR" -name '*.fatbin' -type f -print0)

TODO=()
for s in "${SOURCES[@]}"; do
  s=${s#./}
  o="$OUT_DIR/${s%.cu}.fatbin"
  if [[ -f "$o" && "$o" -nt "$SRC_DIR/$s" && ( -z "$NEWEST_HEADER" || "$o" -nt "$SRC_DIR/$NEWEST_HEADER" ) ]]; then
    continue
  fi
  TODO+=("$s")
done
if [[ ${#TODO[@]} -eq 0 ]]; then
  echo "[flare] CUDA kernels up to date (${#SOURCES[@]} in $SRC_DIR)"
  exit 0
fi

# ---- compile, several files at once --------------------------------------------------------
NPROC=$(nproc 2>/dev/null || echo 2)
JOBS=${FLARE_NVCC_JOBS:-$NPROC}
(( JOBS > ${#TODO[@]} )) && JOBS=${#TODO[@]}
# fewer files than cores: let each nvcc build its gencode targets in parallel too
THREADS=()
(( ${#TODO[@]} < NPROC && ${#GENCODE[@]} > 2 )) && THREADS=(--threads 0)
echo "[flare] nvcc: ${#TODO[@]} kernel(s), $JOBS at a time, archs $ARCHS ($("$NVCC" --version | tail -1))"

LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
compile_one() {  # $1: path of the .cu relative to SRC_DIR
  local s=$1 o="$OUT_DIR/${1%.cu}.fatbin" log="$LOGS/$BASHPID.log"
  mkdir -p "$(dirname "$o")"
  if "$NVCC" "${NVCC_FLAGS[@]}" "${THREADS[@]}" -o "$o.tmp" "$SRC_DIR/$s" >"$log" 2>&1; then
    if grep -q 'C75[0-9][0-9]' "$log"; then
      rm -f "$o.tmp"
      echo "[flare] ERROR: ptxas changed the wgmma synchronization of $SRC_DIR/$s:" >&2
      grep 'C75[0-9][0-9]' "$log" | head -20 >&2
      return 1
    fi
    mv -f "$o.tmp" "$o"
    # nvcc warnings, if any (not -v's per-function resource lines)
    grep -vE 'ptxas info|bytes stack frame|^[[:space:]]*$' "$log" || true
    echo "[flare]   $s -> ${o#"$OUT_DIR"/}"
  else
    rm -f "$o.tmp"
    echo "[flare] ERROR: nvcc failed on $SRC_DIR/$s:" >&2
    cat "$log" >&2
    return 1
  fi
}

FAILED=0
running=0
for s in "${TODO[@]}"; do
  if (( running >= JOBS )); then
    wait -n || FAILED=1
    running=$((running - 1))
  fi
  compile_one "$s" &
  running=$((running + 1))
done
while (( running > 0 )); do
  wait -n || FAILED=1
  running=$((running - 1))
done

if (( FAILED )); then
  echo "[flare] ERROR: CUDA kernel compilation failed (see nvcc output above)" >&2
  exit 1
fi
