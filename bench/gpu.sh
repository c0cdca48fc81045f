#!/usr/bin/env bash
# The GPU check: on a machine with CUDA, from a copy of the project and a folder of wheels,
# without the network. In order, each with its own time limit (under 8 minutes in all on
# one GPU):
#   environment    torch, CUDA, the device and its memory
#   tests          the CUDA tests (pytest -m gpu)
#   two_slots      two worker slots on one GPU train trials at the same time
#   out_of_memory  a trial too large for the device fails with its reason, its worker
#                  frees the memory and the sweep goes on with the small trials
#   bench          bench/run.py --study bench/mnist.toml --devices cuda, packs of 64 and 512
# Every section appends one JSON line to the results file (bench/gpu_checks.py says what
# a line holds); the script exits non-zero if any section failed.
#
#   bench/gpu.sh [--out FILE] [--wheels DIR] [--work DIR] [--python PY] [--quick] [--dry-run]
#
# --wheels DIR: what sweep imports at run time that a machine with torch, torchvision,
# pandas and rich lacks, installed with pip --no-deps --no-index into DIR/site (nothing
# from the network). Prepare DIR on a machine with the network, for the GPU machine's
# Python version, e.g.:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d wheels \
#     -c constraints.txt optuna alembic sqlalchemy colorlog tqdm PyYAML Mako MarkupSafe \
#     packaging scipy scikit-learn joblib threadpoolctl cmaes \
#     pytest pluggy iniconfig pytest-timeout
# --dry-run: no GPU needed; checks the arguments, writes and loads the study files,
# collects the CUDA tests and writes the results file, every section marked dry-run.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

die() {  # one line, exit 2: a bad argument
    echo "gpu.sh: $*" >&2
    exit 2
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INVOKED="$0 $*"
OUT=""
WHEELS=""
WORK=""
PY="${PYTHON:-python3}"
QUICK=0
DRY=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) [[ $# -ge 2 ]] || die "--out needs a file"; OUT="$2"; shift 2 ;;
        --wheels) [[ $# -ge 2 ]] || die "--wheels needs a folder"; WHEELS="$2"; shift 2 ;;
        --work) [[ $# -ge 2 ]] || die "--work needs a folder"; WORK="$2"; shift 2 ;;
        --python) [[ $# -ge 2 ]] || die "--python needs an interpreter"; PY="$2"; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --dry-run) DRY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1'; valid: --out FILE, --wheels DIR, --work DIR, --python PY, --quick, --dry-run, --help" ;;
    esac
done

command -v "$PY" >/dev/null 2>&1 || die "--python: '$PY' is not an interpreter here"
if [[ -n "$WHEELS" && ! -d "$WHEELS" ]]; then
    die "--wheels: '$WHEELS' is not a folder"
fi
OUT="${OUT:-$ROOT/bench/results/gpu-$(date +%Y%m%d-%H%M%S).jsonl}"
mkdir -p "$(dirname "$OUT")" || die "--out: cannot create the folder of '$OUT'"
: > "$OUT" 2>/dev/null || die "--out: cannot write '$OUT'"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/sweep-gpu-XXXXXX")}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

if [[ -n "$WHEELS" ]]; then
    shopt -s nullglob
    wheels=("$WHEELS"/*.whl)
    shopt -u nullglob
    [[ ${#wheels[@]} -gt 0 ]] || die "--wheels: no .whl files in '$WHEELS'"
    "$PY" -m pip install --quiet --no-deps --no-index --target "$WORK/site" "${wheels[@]}"
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

missing="$("$PY" - <<'EOF'
import importlib.util
need = ["torch", "optuna", "sqlalchemy", "alembic", "colorlog", "scipy", "sklearn", "pandas",
        "rich", "pytest"]
print(" ".join(n for n in need if importlib.util.find_spec(n) is None))
EOF
)"
if [[ -n "$missing" ]]; then
    echo "gpu.sh: missing Python packages: $missing (give their wheels with --wheels DIR)" >&2
    exit 1
fi
if [[ $DRY -eq 0 ]] && ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
    echo "gpu.sh: no CUDA device here (torch.cuda.is_available() is False); --dry-run checks the rest" >&2
    exit 1
fi

flags=(--out "$OUT" --work "$WORK")
[[ $QUICK -eq 1 ]] && flags+=(--quick)
[[ $DRY -eq 1 ]] && flags+=(--dry-run)

# Seconds each section may take: 450 in all, with the start-up under 8 minutes.
declare -A LIMIT=([environment]=30 [tests]=120 [two_slots]=60 [out_of_memory]=60 [bench]=180)
failed=0
start=$SECONDS
cd "$ROOT"
for section in environment tests two_slots out_of_memory bench; do
    began=$SECONDS
    rc=0
    timeout --kill-after=10 "${LIMIT[$section]}" \
        "$PY" bench/gpu_checks.py "$section" "${flags[@]}" || rc=$?
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        "$PY" bench/gpu_checks.py record --out "$OUT" --section "$section" --status timeout \
            --seconds $((SECONDS - began)) --figures "{\"limit_s\": ${LIMIT[$section]}}"
        echo "$section: timeout after ${LIMIT[$section]} s"
    fi
    [[ $rc -eq 0 ]] || failed=1
done
status=passed
[[ $failed -eq 0 ]] || status=failed
[[ $DRY -eq 1 && $failed -eq 0 ]] && status=dry-run
"$PY" bench/gpu_checks.py record --out "$OUT" --section total --status "$status" \
    --seconds $((SECONDS - start)) --command "$INVOKED"
echo "gpu.sh: $status in $((SECONDS - start)) s; results in $OUT"
exit $failed
