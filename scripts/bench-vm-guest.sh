#!/bin/bash
# Guest side of scripts/bench-vm (runs INSIDE the test-bed VM, as root): times storage-ctl verbs
# against the sg_persist calls that do the same SCSI work, on the LIO LU through initiator A.
#
#   bench-vm-guest.sh STORAGE_CTL SPAWN RUNS OUTFILE
#
# SPAWN is scripts/bench-spawn.c built on the host: it forks, execs and waits for one command and
# prints "wall_ns maxrss_kib status" (the shell loop around it is not timed). The calls are
# interleaved round by round so that drift hits every column alike. Writes one line per call to
# OUTFILE: "ROUND NAME WALL_NS STATUS".
set -u
BIN=${1:?storage-ctl} SPAWN=${2:?spawn} RUNS=${3:?runs} OUTFILE=${4:?outfile}
DEV=$TB_A_SG
SG=$(command -v sg_persist)
CONF=$(mktemp /tmp/bench-vm.XXXXXX)
printf 'key=bac001\n' > "$CONF"; chmod 0600 "$CONF"
: > "$OUTFILE"
t() {   # t ROUND NAME ARGV...
    local round=$1 name=$2 r; shift 2
    r=$("$SPAWN" 1 "$@")
    set -- $r
    echo "$round $name $1 $3" >> "$OUTFILE"
}
sc() { echo "$BIN" -c "$CONF" "$DEV" "$@"; }
# settle any unit attention, then register (as storage-ctl's lock does on its first call)
for _ in 1 2 3; do sg_turs "$DEV" > /dev/null 2>&1 && break; done
"$BIN" -c "$CONF" "$DEV" register || { echo "bench-vm-guest.sh: register failed" >&2; exit 1; }
# one warm-up round: page cache of both binaries over 9p
"$BIN" -c "$CONF" "$DEV" regkeys > /dev/null; "$SG" -n -i -k "$DEV" > /dev/null
for ((i = 1; i <= RUNS; i++)); do
    t "$i" true /bin/true
    t "$i" sg_persist-V "$SG" -V
    t "$i" regkeys $(sc regkeys)
    t "$i" sg-i-k "$SG" -n -i -k "$DEV"
    t "$i" wholocked $(sc wholocked)
    t "$i" sg-i-r "$SG" -n -i -r "$DEV"
    t "$i" trylock $(sc trylock)              # registered, free: one RESERVE
    t "$i" unlock $(sc unlock)                # READ RESERVATION + RELEASE
    t "$i" sg-o-R "$SG" -n -o -R -K bac001 -T 3 "$DEV"
    t "$i" sg-o-L "$SG" -n -o -L -K bac001 -T 3 "$DEV"
    # a lock/unlock cycle: storage-ctl lock + unlock, against what a shell storage-ctl runs per lock
    t "$i" cycle-lock $(sc lock)
    t "$i" cycle-unlock $(sc unlock)
    t "$i" cycle-sg-I "$SG" -n -o -I -S bac001 "$DEV"
    t "$i" cycle-sg-R "$SG" -n -o -R -K bac001 -T 3 "$DEV"
    t "$i" cycle-sg-L "$SG" -n -o -L -K bac001 -T 3 "$DEV"
done
"$BIN" -c "$CONF" "$DEV" unregister
rm -f "$CONF"
# every call must have done its work
if awk '$4 != 0 { bad++ } END { exit bad > 0 ? 0 : 1 }' "$OUTFILE"; then
    echo "bench-vm-guest.sh: some calls failed:" >&2
    awk '$4 != 0' "$OUTFILE" | head -n 5 >&2
    exit 1
fi
