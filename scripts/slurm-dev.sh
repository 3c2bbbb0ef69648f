#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for development and the tests: munged, slurmctld, slurmd, and slurmrestd
# (as `nobody`, on a unix socket, rest_auth/local). Idempotent: `start` leaves what already runs alone.
#
#   scripts/slurm-dev.sh start     # starts what is not running; prints JOBDECK_SLURM_URL=unix:<socket>
#   scripts/slurm-dev.sh stop      # stops slurmrestd, slurmd, slurmctld (munged is left: other programs may use it)
#   scripts/slurm-dev.sh status    # what runs; exit 0 when slurmrestd answers
#   scripts/slurm-dev.sh url       # prints the JOBDECK_SLURM_URL value only
#   scripts/slurm-dev.sh restart-controller-clean   # slurmctld -c: its state cleared, so every job is lost (tests)
#   scripts/slurm-dev.sh stop-rest | start-rest     # slurmrestd alone (tests: an unreachable cluster)
#   scripts/slurm-dev.sh operator-url                # the operator slurmrestd's JOBDECK_SLURM_URL (see below)
#
# Two slurmrestd run: one as `nobody` (a plain account: it may not raise a running job's time limit, so Jobdeck's
# products say they do not support time extension), and one as the cluster's SlurmUser `slurm` (an operator: extend
# works), on a socket only root can reach. Jobs run as the account of the slurmrestd they were submitted through.
#
# State (config, spool, logs, pid files, the socket, the jobs' work folders) lives in $JOBDECK_SLURM_DEV_DIR,
# /var/tmp/jobdeck-slurm by default. Needs root and `apt-get install -y slurm-wlm slurmrestd munge`.
set -euo pipefail

DIR="${JOBDECK_SLURM_DEV_DIR:-/var/tmp/jobdeck-slurm}"
CONF="$DIR/slurm.conf"
SOCK="$DIR/rest/slurmrestd.sock"
OP_SOCK="$DIR/rest-operator/slurmrestd.sock"
JOB_USER="${JOBDECK_SLURM_DEV_USER:-nobody}"
# The controller's account: Slurm treats SlurmUser (and root) as an operator. Root when the packages made no `slurm`.
if id slurm >/dev/null 2>&1; then SLURM_USER=slurm; else SLURM_USER=root; fi
CTLD_PORT="${JOBDECK_SLURM_DEV_CTLD_PORT:-16817}"
SLURMD_PORT="${JOBDECK_SLURM_DEV_SLURMD_PORT:-16818}"
export SLURM_CONF="$CONF"

die() { echo "slurm-dev: $*" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

need() {
  [ "$(id -u)" = 0 ] || die "needs root (slurmctld and slurmd run as root here)"
  for bin in munged slurmctld slurmd slurmrestd; do
    command -v "$bin" >/dev/null 2>&1 || die "$bin is missing: apt-get install -y slurm-wlm slurmrestd munge"
  done
  id "$JOB_USER" >/dev/null 2>&1 || die "no account '$JOB_USER' for slurmrestd and the jobs"
}

write_conf() {
  local node cpus mem
  node="$(hostname -s)"
  cpus="$(nproc)"
  # What slurmd will find, less a margin: a node that reports less memory than its config is drained.
  mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
  mkdir -p "$DIR"/{state,spool,log,run,rest,work}
  chmod 755 "$DIR"
  # slurmrestd (as $JOB_USER) creates its socket here; the jobs (as $JOB_USER too) write their output under work/.
  chown "$JOB_USER" "$DIR/rest" "$DIR/work"
  chmod 755 "$DIR/rest" "$DIR/work"
  # slurmctld drops to $SLURM_USER: its state, log and pid files are that account's (an earlier run's were root's).
  chown -R "$SLURM_USER" "$DIR/state" "$DIR/log" "$DIR/run"
  # The operator slurmrestd's socket: only root (Jobdeck) and the operator account may connect.
  mkdir -p "$DIR/rest-operator"
  chown "$SLURM_USER" "$DIR/rest-operator"
  chmod 700 "$DIR/rest-operator"
  cat >"$CONF.new" <<EOF
# Written by scripts/slurm-dev.sh: a one-node development cluster.
ClusterName=jobdeck-dev
SlurmctldHost=$node
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$SLURM_USER
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ReturnToService=2
# Ended jobs stay listed for 5 minutes (Slurm's default), so an end is never missed between two polls.
MinJobAge=300
DefMemPerCPU=512
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=batch Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=short Nodes=$node MaxTime=60 State=UP
EOF
  if ! cmp -s "$CONF.new" "$CONF" 2>/dev/null; then mv "$CONF.new" "$CONF"; else rm -f "$CONF.new"; fi
}

start_munge() {
  if pgrep -x munged >/dev/null 2>&1; then return; fi
  [ -f /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if id munge >/dev/null 2>&1; then
    runuser -u munge -- munged --force
  else
    munged --force
  fi
}

start_ctld() {
  alive "$DIR/run/slurmctld.pid" && return
  slurmctld -f "$CONF" "$@"
}

start_slurmd() {
  alive "$DIR/run/slurmd.pid" && return
  slurmd -f "$CONF"
}

# One slurmrestd as <account> on <socket>; its pid and log are named <name>. slurmrestd refuses to run as root, and
# submits every job as the account it runs as.
run_rest() {
  local account="$1" sock="$2" name="$3"
  alive "$DIR/run/$name.pid" && [ -S "$sock" ] && return
  rm -f "$sock"
  setsid runuser -u "$account" -- env SLURM_CONF="$CONF" \
    slurmrestd -f "$CONF" -s openapi/v0.0.38 -a rest_auth/local "unix:$sock" \
    >>"$DIR/log/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/run/$name.pid"
}

start_rest() { run_rest "$JOB_USER" "$SOCK" slurmrestd; }

start_rest_operator() {
  [ "$SLURM_USER" != root ] || return 0   # no operator endpoint without a `slurm` account
  run_rest "$SLURM_USER" "$OP_SOCK" slurmrestd-operator
}

stop_pid() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

rest_answers() {
  curl -sf --max-time 5 --unix-socket "$SOCK" http://slurm/slurm/v0.0.38/ping >/dev/null 2>&1
}

wait_ready() {
  for _ in $(seq 150); do
    if rest_answers && sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then return 0; fi
    # A node left down by an earlier run comes back.
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 0.2
  done
  die "the cluster did not come up within 30 s; see $DIR/log/"
}

case "${1:-start}" in
  start)
    need
    write_conf
    start_munge
    start_ctld
    start_slurmd
    start_rest
    start_rest_operator
    wait_ready
    echo "JOBDECK_SLURM_URL=unix:$SOCK"
    echo "slurm-dev: a one-node cluster runs (state in $DIR). Run Jobdeck on it with:" >&2
    echo "  JOBDECK_SLURM_URL=unix:$SOCK npm start" >&2
    [ "$SLURM_USER" = root ] || echo "or, with time extension (jobs run as the operator '$SLURM_USER'): JOBDECK_SLURM_URL=unix:$OP_SOCK" >&2
    ;;
  url)
    echo "unix:$SOCK"
    ;;
  operator-url)
    [ "$SLURM_USER" != root ] || die "no operator slurmrestd: this machine has no 'slurm' account"
    echo "unix:$OP_SOCK"
    ;;
  stop)
    stop_pid "$DIR/run/slurmrestd-operator.pid"
    stop_pid "$DIR/run/slurmrestd.pid"
    rm -f "$OP_SOCK"
    stop_pid "$DIR/run/slurmd.pid"
    stop_pid "$DIR/run/slurmctld.pid"
    rm -f "$SOCK"
    echo "slurm-dev: stopped (state kept in $DIR)"
    ;;
  status)
    for d in slurmctld slurmd slurmrestd slurmrestd-operator; do
      if alive "$DIR/run/$d.pid"; then echo "$d: running (pid $(cat "$DIR/run/$d.pid"))"; else echo "$d: stopped"; fi
    done
    rest_answers && echo "slurmrestd answers at unix:$SOCK" || { echo "slurmrestd does not answer"; exit 1; }
    ;;
  restart-controller-clean)
    need
    stop_pid "$DIR/run/slurmctld.pid"
    start_ctld -c
    wait_ready
    ;;
  stop-rest)
    stop_pid "$DIR/run/slurmrestd.pid"
    rm -f "$SOCK"
    ;;
  start-rest)
    need
    start_rest
    wait_ready
    ;;
  *)
    die "usage: $0 start|stop|status|url|operator-url|restart-controller-clean|stop-rest|start-rest"
    ;;
esac
