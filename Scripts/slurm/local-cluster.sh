#!/usr/bin/env bash
# A private single-node Slurm on loopback, for tests: local-cluster.sh up|down|status DIR
#
#   up DIR      writes DIR/slurm.conf, a fresh munge key and socket, and starts munged,
#               slurmctld and slurmd; returns when the node accepts jobs. Then
#               `export SLURM_CONF=DIR/slurm.conf` points sbatch/squeue/scontrol at it.
#   down DIR    stops the three daemons by their pid files (never by name: another Slurm
#               or munge on the machine is left alone) and waits until they are gone.
#   status DIR  says which of the three daemons run.
#
# Everything lives under DIR (config, key, socket, state, logs), so instances do not share
# anything with each other or with a system Slurm. Needs Debian's slurmctld slurmd
# slurm-client munge (Slurm 22.05); no systemd. What the settings are for:
#   - NoInAddrAny/NoCtldInAddrAny: listen on 127.0.0.1 only, not on every interface;
#   - the node is named after `hostname -s` but addressed as 127.0.0.1, and slurmd gets -N;
#   - DependencyParameters=kill_invalid_depend: a job whose dependency can never be met
#     (an afterok on a failed task) is cancelled instead of staying PENDING forever;
#   - no accounting (no sacct): job states come from scontrol for MinJobAge=300 s after the end;
#   - MailProg=/bin/true: there is no mail on a test machine;
#   - SlurmdParameters=config_overrides: the node's CPUs and memory are what we write,
#     whatever slurmd detects.
set -euo pipefail

usage() { echo "usage: $0 up|down|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
conf=$dir/slurm.conf

pid_of() { [ -s "$dir/run/$1.pid" ] && cat "$dir/run/$1.pid"; }
alive() { local p; p=$(pid_of "$1") && kill -0 "$p" 2>/dev/null; }

# A free TCP port on loopback (bash's /dev/tcp connects only when something listens).
free_port() {
    local port
    for _ in $(seq 50); do
        port=$(( 20000 + RANDOM % 30000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
    echo "local-cluster: no free port found" >&2; exit 1
}

up() {
    for d in sbatch slurmctld slurmd munged; do
        command -v "$d" >/dev/null || [ -x "/usr/sbin/$d" ] || {
            echo "local-cluster: $d not found (apt packages slurmctld slurmd slurm-client munge)" >&2; exit 1; }
    done
    if alive slurmctld || alive slurmd || alive munged; then
        echo "local-cluster: $dir already has daemons running; run '$0 down $dir' first" >&2; exit 1
    fi
    local user node cpus mem_mib
    user=$(id -un)
    node=$(hostname -s)
    cpus=$(nproc)
    # Leave the kernel and the submitting shell some memory; Slurm schedules --mem against this.
    mem_mib=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    rm -rf "$dir/state" "$dir/log" "$dir/run" "$dir/munge"
    mkdir -p "$dir/state/ctld" "$dir/state/d" "$dir/log" "$dir/run" "$dir/munge"
    # munged insists on private key and state folders; the socket's folder must be readable
    # by every user who submits, or sbatch cannot get a credential.
    chmod 755 "$dir" "$dir/munge"
    chmod 700 "$dir/state" "$dir/log" "$dir/run"
    mkdir -m 700 "$dir/munge/private"
    head -c 1024 /dev/urandom > "$dir/munge/private/munge.key"
    chmod 400 "$dir/munge/private/munge.key"

    cat > "$conf" <<EOF
# Written by Scripts/slurm/local-cluster.sh: a private single-node test cluster.
ClusterName=patchbench-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
StateSaveLocation=$dir/state/ctld
SlurmdSpoolDir=$dir/state/d
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MailProg=/bin/true
MinJobAge=300
DependencyParameters=kill_invalid_depend
SlurmdParameters=config_overrides
SchedulerParameters=sched_interval=2
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$conf
    /usr/sbin/munged --key-file="$dir/munge/private/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/private/munged.seed" \
        ${MUNGED_FLAGS:-}
    /usr/sbin/slurmctld -f "$conf"
    /usr/sbin/slurmd -f "$conf" -N "$node"
    # Ready when the node is idle; slurmctld may take a moment to answer at all.
    for _ in $(seq 60); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qx 'idle'; then
            echo "local-cluster: up in $dir (node $node, $cpus CPUs, ${mem_mib} MiB); export SLURM_CONF=$conf"
            return
        fi
        sleep 0.5
    done
    echo "local-cluster: the node did not come up; logs in $dir/log:" >&2
    tail -n 20 "$dir"/log/*.log >&2 || true
    down
    exit 1
}

down() {
    local name p
    for name in slurmd slurmctld munged; do
        p=$(pid_of "$name") || continue
        kill "$p" 2>/dev/null || true
        for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$p" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
        rm -f "$dir/run/$name.pid"
    done
}

status() {
    local name rc=0
    for name in munged slurmctld slurmd; do
        if alive "$name"; then echo "$name running (pid $(pid_of "$name"))"; else echo "$name stopped"; rc=1; fi
    done
    return $rc
}

case $action in
    up) up ;;
    down) down ;;
    status) status ;;
    *) usage ;;
esac
