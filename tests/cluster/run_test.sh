#!/usr/bin/env bash
# Submit the demo dataset build to a real single-node Slurm on this machine through
# profiles/slurm, check that the jobs went through Slurm, and that the outputs equal a
# local run's byte for byte. Run as root (it may apt-get slurm-wlm and munge):
#   bash tests/cluster/run_test.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
source tests/cluster/slurm.sh
slurm_install

work=$(mktemp -d)
cleanup() { slurm_stop "$work/slurm"; [ -n "${KEEP_SLURM_TEST:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
slurm_start "$work/slurm"

cat > "$work/config.yaml" <<CONF
name: cluster_demo
genome: {fasta: $repo/resources/demo/synthetic_genome.fa.gz}
peaks: $repo/resources/demo/synthetic_peaks.narrowPeak.gz
blacklist: $repo/resources/demo/synthetic_blacklist.bed
chromosomes: [chr1, chr2, chr3]
models: []
CONF

snakemake --snakefile "$repo/Snakefile" --directory "$work/local" --configfile "$work/config.yaml" \
    --profile "$repo/profiles/local" --cores 2 --quiet
snakemake --snakefile "$repo/Snakefile" --directory "$work/cluster" --configfile "$work/config.yaml" \
    --profile "$repo/profiles/slurm" --jobs 4 --slurm-status-command squeue \
    --slurm-init-seconds-before-status-checks 2 --slurm-logdir "$work/cluster/slurm-logs"

rules=$(squeue --states=all --noheader --format=%k | sort | uniq -c)
echo "jobs seen by Slurm (count, rule):"
echo "$rules"
for rule in prepare_genome windows labels split onehot dataset; do
    if ! grep -qE " rule_${rule}(_wildcards_|$)" <<<"$rules"; then
        echo "FAIL: no Slurm job ran rule $rule" >&2
        exit 1
    fi
done
completed=$(grep -c "JobState=COMPLETED" "$work/slurm/log/jobcomp.txt")
echo "Slurm job completion log: $completed jobs COMPLETED"

status=0
for file in $(cd "$work/local/results/cluster_demo/dataset" && find . -name '*.npy' | sort); do
    if ! cmp -s "$work/local/results/cluster_demo/dataset/$file" "$work/cluster/results/cluster_demo/dataset/$file"; then
        echo "FAIL: $file differs between the local and the Slurm run" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "OK: the Slurm run's 12 arrays equal the local run's byte for byte"
exit "$status"
