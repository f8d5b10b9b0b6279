#!/bin/sh
# stripes for Linux x86-64, self-contained: needs a Vulkan driver (and glibc
# and libstdc++, which Dawn's addon links), nothing else.
#
#   ./run.sh cli <train|test|translate> [options]   the stripes-cyclegan CLI
#   ./run.sh selfcheck                              the PyTorch golden cases on this machine's GPU
#   ./run.sh bench kernels                          conv kernels vs tfjs-backend-webgpu (BENCH_FILTER=text: some cases)
#   ./run.sh bench train [--configs demo,64px,128px,256px|all] [--steps N] [--out FILE]
#
# The first run unpacks the Node binary (node.xz) beside this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
node="$here/node"

usage() {
  sed -n '5,8p' "$here/run.sh" | sed 's/^# *//' >&2
  exit 2
}

if [ ! -x "$node" ]; then
  # xz-utils is not on every bare machine; Python's lzma reads the same format.
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$here/node.xz" >"$node.part"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$here/node.xz" "$node.part"
  else
    echo "run.sh: cannot unpack node.xz: neither xz nor python3 is installed" >&2
    exit 1
  fi
  chmod 755 "$node.part"
  mv "$node.part" "$node"
fi

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  cli | selfcheck) exec "$node" "$here/app/$command.js" "$@" ;;
  bench)
    [ $# -ge 1 ] || usage
    which=$1
    shift
    case "$which" in
      kernels | train) exec "$node" "$here/app/bench-$which.js" "$@" ;;
      *) usage ;;
    esac
    ;;
  *) usage ;;
esac
