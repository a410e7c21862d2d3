#!/usr/bin/env bash
# Times a no-op rerun of the same 200-step workflow in bitflow and in
# Snakemake: 10 independent first steps, then layers of 10 steps that each
# read two steps of the layer before. Needs hyperfine and snakemake
# (Debian: apt-get install hyperfine snakemake). Not part of CI.
#
#   scripts/bench-noop-vs-snakemake.sh [STEPS]
set -euo pipefail
n=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root" && go build -o "$work/bitflow" .
cd "$work"

{
  echo "name: wide"
  echo "steps:"
  for ((i = 0; i < n; i++)); do
    echo "  s$i:"
    if ((i < 10)); then
      echo "    run: echo $i > \${{ outputs.out }}"
    else
      echo "    run: cat \${{ inputs.a }} \${{ inputs.b }} | sha256sum > \${{ outputs.out }}"
      echo "    inputs: {a: s$((i - 10)).out, b: s$((i - 10 + (i + 1) % 10)).out}"
    fi
    echo "    outputs: [out]"
  done
} > wide.yaml

{
  echo "rule all:"
  echo "    input: [f'out/s{i}' for i in range($n)]"
  for ((i = 0; i < n; i++)); do
    echo "rule s$i:"
    if ((i < 10)); then
      echo "    output: 'out/s$i'"
      echo "    shell: 'echo $i > {output}'"
    else
      echo "    input: a='out/s$((i - 10))', b='out/s$((i - 10 + (i + 1) % 10))'"
      echo "    output: 'out/s$i'"
      echo "    shell: 'cat {input.a} {input.b} | sha256sum > {output}'"
    fi
  done
} > Snakefile

./bitflow run wide.yaml --store store --log-level warn
snakemake --cores 2 --quiet all >/dev/null 2>&1
hyperfine --warmup 2 --runs 10 \
  "./bitflow run wide.yaml --store store --log-level warn" \
  "snakemake --cores 2 --quiet all"
