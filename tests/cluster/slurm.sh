#!/usr/bin/env bash
# A real single-node Slurm on this machine, for tests: munge and Slurm from Debian's
# packages, every file in one scratch folder, daemons started directly (no systemd) and
# stopped by PID.
#
#   source tests/cluster/slurm.sh
#   slurm_start DIR     # writes DIR/slurm.conf, starts munged, slurmctld, slurmd; exports SLURM_CONF
#   slurm_stop DIR      # stops them by PID
#
# No accounting database: the Snakemake SLURM plugin is told to poll squeue
# (status_command: squeue), which needs finished jobs kept visible: MinJobAge=600.
# The caller sets its own shell options (run_test.sh uses set -euo pipefail).


slurm_install() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
    command -v munged >/dev/null 2>&1 || missing+=(munge)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

slurm_start() {
    local dir
    dir=$(realpath -m "$1")
    mkdir -p "$dir"/{munge,state,spool,log}
    chmod 700 "$dir/munge"
    local host cpus memory
    host=$(hostname -s)
    cpus=$(nproc)
    memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
    dd if=/dev/urandom bs=1 count=1024 of="$dir/munge/munge.key" status=none
    chmod 400 "$dir/munge/munge.key"
    # munge's default socket: a configless slurmd must reach munge before it has a config
    mkdir -p /run/munge
    munged --force --key-file="$dir/munge/munge.key" --socket=/run/munge/munge.socket.2 \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed"
    cat > "$dir/slurm.conf" <<CONF
ClusterName=tfbinding-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MinJobAge=600
SlurmctldParameters=enable_configless
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -f "$SLURM_CONF"
    # configless slurmd: it fetches the config from slurmctld and hands it to job steps
    # (srun inside a job finds no config otherwise, since none is in /etc/slurm)
    slurmd --conf-server "$host:16817"
    for _ in $(seq 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            return 0
        fi
        sleep 1
    done
    echo "Slurm did not come up; see $dir/log/" >&2
    tail -n 20 "$dir"/log/*.log >&2
    return 1
}

slurm_stop() {
    local dir pidfile
    dir=$(realpath -m "$1")
    local pids=()
    for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
        if [ -f "$pidfile" ]; then
            pids+=("$(cat "$pidfile")")
        fi
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 20); do
        kill -0 "${pids[@]}" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -9 "${pids[@]}" 2>/dev/null || true
}
