#!/bin/bash
# A single-node Slurm on this machine, for trying the job array and for the
# tests: munged (if it is not running already), slurmctld and slurmd, with
# the configuration, state, spool and logs under DIR.
#
#   deploy/slurm/local-up.sh DIR      # prints SLURM_CONF=DIR/slurm.conf
#   export SLURM_CONF=DIR/slurm.conf  # then sbatch, squeue, sacct... use it
#   deploy/slurm/local-down.sh DIR    # stops what local-up.sh started
#
# Needs root and Debian's packages:
#   apt-get install -y slurmctld slurmd slurm-client munge
# Ports: SLURMCTLD_PORT and SLURMD_PORT (default 6817 and 6818).
# Every daemon started is recorded in DIR/started (name and pid), for
# local-down.sh; nothing outside DIR is changed except munge's own
# directories and key (created as the package would, if missing).
set -euo pipefail

die() {
    echo "local-up.sh: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: local-up.sh DIR"
mkdir -p "$1"
dir=$(cd "$1" && pwd)
ctld_port=${SLURMCTLD_PORT:-6817}
slurmd_port=${SLURMD_PORT:-6818}

need() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ||
        die "$1 is missing (package $2): apt-get install -y slurmctld slurmd slurm-client munge"
}
need munged munge
need slurmctld slurmctld
need slurmd slurmd
need sbatch slurm-client
need scontrol slurm-client
[ "$(id -u)" -eq 0 ] || die "slurmd must start as root (run as root)"
export PATH=$PATH:/usr/sbin

: >"$dir/started"

# munge: reuse a running munged; else start one as the munge user.
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo "local-up.sh: munged is already running: using it" >&2
else
    install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged
    for _ in $(seq 50); do
        [ -s /run/munge/munged.pid ] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n | unmunge >/dev/null || die "munged did not start (see /var/log/munge/munged.log)"
    echo "munged $(cat /run/munge/munged.pid)" >>"$dir/started"
fi

# The node as slurmd sees it (CPUs, sockets, memory), reached on loopback.
node=$(slurmd -C | head -n 1)
name=$(sed -n 's/^NodeName=\([^ ]*\).*/\1/p' <<<"$node")
[ -n "$name" ] || die "slurmd -C did not describe the node: $node"
mkdir -p "$dir/state" "$dir/spool"
cat >"$dir/slurm.conf" <<EOF
# Written by deploy/slurm/local-up.sh: one node, no cgroups, no accounting.
ClusterName=mswap
SlurmctldHost=$name(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$name Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$dir/slurm.conf

pidof_file() {
    for _ in $(seq 100); do
        [ -s "$1" ] && cat "$1" && return 0
        sleep 0.1
    done
    return 1
}

slurmctld -i || die "slurmctld did not start (see $dir/slurmctld.log)"
echo "slurmctld $(pidof_file "$dir/slurmctld.pid")" >>"$dir/started"
slurmd || die "slurmd did not start (see $dir/slurmd.log)"
echo "slurmd $(pidof_file "$dir/slurmd.pid")" >>"$dir/started"

# Wait (at most 60 s) for the node to take jobs.
state=
for _ in $(seq 120); do
    state=$(sinfo -h -n "$name" -o %T 2>/dev/null | head -n 1 || true)
    case $state in
    idle* | mixed* | allocated*) break ;;
    down* | drain*) scontrol update nodename="$name" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.5
done
case $state in
idle* | mixed* | allocated*) ;;
*) die "node $name is '$state', not idle after 60 s (see $dir/slurmctld.log and $dir/slurmd.log)" ;;
esac
echo "SLURM_CONF=$dir/slurm.conf"
