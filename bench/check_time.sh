#!/usr/bin/env sh
# Measures how long `deno check` takes on the shape-algebra type tests, against
# a baseline file that only imports the same modules. A fresh DENO_DIR per run
# keeps Deno's type-check cache from hiding the work.
#
# Usage: sh bench/check_time.sh [runs]   (from the repository root)
set -eu
runs="${1:-3}"
: "${JSR_URL:=file://$(realpath ../shared/jsr)/}"
export JSR_URL
baseline="$(mktemp -d)/baseline_test.ts"
cat >"$baseline" <<TS
import { assertType } from "@std/testing/types";
import type { Shape } from "$(pwd)/src/tensor.ts";
import type { MatMulShape } from "$(pwd)/src/shape/mod.ts";
assertType<MatMulShape<[2, 3], [3, 4]> extends Shape ? true : false>(true);
TS
for target in "$baseline" tests/shape_types_test.ts tests/shape_check_test.ts; do
  i=0
  while [ "$i" -lt "$runs" ]; do
    dir="$(mktemp -d)"
    start=$(date +%s%N)
    DENO_DIR="$dir" deno check --config deno.json "$target" >/dev/null 2>&1
    end=$(date +%s%N)
    rm -rf "$dir"
    echo "$(basename "$target") run $i: $(((end - start) / 1000000)) ms"
    i=$((i + 1))
  done
done
rm -rf "$(dirname "$baseline")"
