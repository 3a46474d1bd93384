#!/bin/bash
# storage-ctl's CLI integration suite on the LIO test bed. Runs INSIDE the test-bed VM, as root,
# started by Tests/Integration/run-on-testbed.sh (one boot, with --tape and iSCSI support):
#
#   cli-on-lio.sh STORAGE_CTL OUTDIR [XCTEST_BUNDLE]
#
# STORAGE_CTL is the storage-ctl binary built on the host; OUTDIR a host directory mounted
# read-write (the full transcript goes to OUTDIR/cli-on-lio.log, measurements to
# OUTDIR/report.txt); XCTEST_BUNDLE, when given, is the package's test binary, whose
# SGIOIntegrationTests run on a LU of their own.
#
# Every test gets a fresh LU: LU0 of guest-run.sh (tcm_loop, initiators A and B) for the CLI, more
# LUs made by scripts/testbed/guest/add-lus.sh for the sg_persist identity runs (one for the real
# sg_persist, one for storage-ctl's personality: both start at generation 0) and for the iSCSI
# checks (PREEMPT AND ABORT deadlocks tcm_loop, so it is only sent to iSCSI LUs, under timeout).
#
# Prints one line per check, "ok N - ..." or "FAIL N - ..." (followed by indented details), and
# ends with the line "P passed, F failed"; exits 1 if any check failed.
set -u
BIN=${1:?storage-ctl binary}
OUT=${2:?output directory}
XCTEST=${3:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ADD_LUS=$ROOT/scripts/testbed/guest/add-lus.sh
SEQUENCE=$ROOT/Tests/Fixtures/sg_persist/tools/vm-sequence.sh
export LC_ALL=C NO_COLOR=1
# the host's PATH may start with wrappers (pyenv shims) that cost seconds under TCG
PY=/usr/bin/python3

W=$(mktemp -d /tmp/cli-on-lio.XXXXXX)
LOG=$OUT/cli-on-lio.log
REPORT=$OUT/report.txt
: > "$LOG"; : > "$REPORT"
P=0 F=0 RC=0 CMD="" WHY=""
: > "$W/out"; : > "$W/err"

# ---- framework ------------------------------------------------------------------------------
# Under TCG every process start costs ~50 ms (more on a busy host), so the framework itself uses
# bash builtins on the success path; only the command under test (and timeout) are processes.
OUTT="" ERRT=""
slurp() { IFS= read -r -d '' "$2" < "$1"; return 0; }    # slurp FILE VAR: the whole file, no fork
prefixed() {   # prefixed PREFIX TEXT: each line of TEXT behind PREFIX
    local line
    [ -n "$2" ] || return 0
    while IFS= read -r line; do printf '%s%s\n' "$1" "$line"; done <<< "${2%$'\n'}"
}
# x CMD...: runs one command (bounded by timeout), keeps stdout, stderr and exit status
x() {
    CMD="$*"
    timeout -k 5 "${TMO:-30}" "$@" > "$W/out" 2> "$W/err"
    RC=$?
    slurp "$W/out" OUTT; slurp "$W/err" ERRT
    { printf '$ %s\n' "$CMD"; prefixed "  out| " "$OUTT"; prefixed "  err| " "$ERRT"; printf '  exit %s\n' "$RC"; } >> "$LOG"
}
# check DESCRIPTION CONDITION: CONDITION is bash code over the last command's results
# ($W/out and $W/err, re-read here so that a test may also fill them itself)
check() {
    local d=$1 c=$2
    WHY=""
    slurp "$W/out" OUTT; slurp "$W/err" ERRT
    if eval "$c"; then
        P=$((P + 1)); echo "ok $((P + F)) - $d"; echo "ok: $d" >> "$LOG"
    else
        F=$((F + 1)); echo "FAIL $((P + F)) - $d"; echo "FAIL: $d" >> "$LOG"
        {
            echo "    condition: $c"
            echo "    last command: $CMD (exit $RC)"
            sed 's/^/    stdout| /' "$W/out" | head -n 30
            sed 's/^/    stderr| /' "$W/err" | head -n 30
            [ -n "$WHY" ] && printf '%s' "$WHY" | sed 's/^/    /'
        } | tee -a "$LOG"
    fi
}
rc() { [ "$RC" = "$1" ] || { WHY+="exit status $RC, expected $1"$'\n'; return 1; }; }
text() { [ -z "$1" ] || printf '%s\n' "$1"; }
same() {   # same EXPECTED_FILE ACTUAL_FILE LABEL
    cmp -s "$1" "$2" || { WHY+="$3 differs (< expected, > actual):"$'\n'"$(diff "$1" "$2" | head -n 40)"$'\n'; return 1; }
}
is_text() {   # is_text EXPECTED ACTUAL FILE LABEL: ACTUAL is EXPECTED plus a newline (or both empty)
    local want=""
    [ -z "$1" ] || want=$1$'\n'
    [[ "$2" == "$want" ]] && return 0
    text "$1" > "$W/exp"; same "$W/exp" "$3" "$4"
}
out_is() { is_text "$1" "$OUTT" "$W/out" stdout; }
err_is() { is_text "$1" "$ERRT" "$W/err" stderr; }
out_has() { [[ "$OUTT" == *"$1"* ]] || { WHY+="stdout lacks: $1"$'\n'; return 1; }; }
err_has() { [[ "$ERRT" == *"$1"* ]] || { WHY+="stderr lacks: $1"$'\n'; return 1; }; }
any_has() { [[ "$OUTT$ERRT" == *"$1"* ]] || { WHY+="neither stdout nor stderr has: $1"$'\n'; return 1; }; }
out_matches() { grep -qE -- "$1" "$W/out" || { WHY+="no stdout line matches: $1"$'\n'; return 1; }; }
err_lines() {
    local nl=${ERRT//[!$'\n']/}
    [ "${#nl}" = "$1" ] || { WHY+="stderr has ${#nl} lines, expected $1"$'\n'; return 1; }
}
keep() { printf '%s' "$OUTT" > "$W/$1"; }
report() { echo "$*" >> "$REPORT"; }
PHASE="" PHASE_T=$EPOCHREALTIME
phase() {   # phase NAME: reports how long the previous phase took
    local now=$EPOCHREALTIME
    [ -n "$PHASE" ] && report "phase $PHASE: $(awk -v a="$PHASE_T" -v b="$now" 'BEGIN{printf "%.1f", b-a}') s"
    PHASE=$1 PHASE_T=$now
}
# merge_checks FILE LABEL: a helper script's "ok N - ..." / "not ok N - ..." lines as checks of this suite
# (LABEL before each), its "# ..." lines into the transcript
merge_checks() {
    local line
    while IFS= read -r line; do
        case "$line" in
            "ok "*) P=$((P + 1)); echo "ok $((P + F)) - $2${line#ok * - }"; echo "ok: ${line#ok * - }" >> "$LOG" ;;
            "not ok "*) F=$((F + 1)); echo "FAIL $((P + F)) - $2${line#not ok * - }"; echo "FAIL: ${line#not ok * - }" >> "$LOG" ;;
            "#"*) echo "$line" >> "$LOG" ;;
        esac
    done < "$1"
}
# sg_persist's -s text with our " (name)" suffixes removed: what storage-ctl query must equal
unnamed() { sed -E 's/^(    Key=0x[0-9a-f]+) \([^)]*\)$/\1/' "$1"; }

# storage-ctl as the two storage daemons of the README: cibou (key bac001) and dir (key bac999)
SA() { x "$BIN" -c "$W/a.conf" "$@"; }
SB() { x "$BIN" -c "$W/b.conf" "$@"; }
SG() { x sg_persist "$@"; }
READ10=(28 00 00 00 00 00 00 00 01 00)
WRITE10=(2a 00 00 00 00 00 00 00 01 00)
HDR=$'  LIO-ORG   FILEIO            4.0 \n  Peripheral device type: disk'

for side in a b; do
    key=bac001; [ $side = b ] && key=bac999
    printf 'key=%s\nhost_bac001=cibou\nhost_bac999=dir\ndebug_log=1\ndebug_file=%s\n' "$key" "$W/debug-$side.log" > "$W/$side.conf"
    chmod 0600 "$W/$side.conf"
done
A=$TB_A_SG B=$TB_B_SG
report "kernel $(uname -r); LU0 through A: $A $TB_A_DEV ($TB_A_HCTL, $TB_A_INITIATOR), B: $B $TB_B_DEV ($TB_B_HCTL, $TB_B_INITIATOR); tape ${TB_TAPE_NST:-none} -> ${TB_TAPE_SG:-none}"
report "storage-ctl: $BIN ($("$BIN" --version 2>&1))"

# ---- 0. the other LUs, all made before the first check ------------------------------------------
phase "0. the other LUs, all made before the first check"
# (adding a LUN gives every LU of the same I_T nexus a unit attention, 3F/0E REPORTED LUNS DATA HAS
# CHANGED; they are consumed here so that each test starts on a quiet LU)
LOOP_LUS=(seqreal sequs); [ -n "$XCTEST" ] && LOOP_LUS+=(sgio)
ISCSI_LUS=(clii seqireal seqius paths mpath fifo)
LOOP_OK=0 ISCSI_OK=0
t0=$EPOCHREALTIME
if lus=$(bash "$ADD_LUS" "${LOOP_LUS[@]}" 2> "$W/add-loop.err"); then eval "$lus"; LOOP_OK=1; fi
t1=$EPOCHREALTIME
if lus=$(timeout -k 5 120 bash "$ADD_LUS" --fabric iscsi "${ISCSI_LUS[@]}" 2> "$W/add-iscsi.err"); then eval "$lus"; ISCSI_OK=1; fi
t2=$EPOCHREALTIME
report "extra LUs: tcm_loop ${LOOP_LUS[*]} $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s (ok=$LOOP_OK), iSCSI ${ISCSI_LUS[*]} $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s (ok=$ISCSI_OK)"
settle() {
    local d i
    for d in "$@"; do
        for ((i = 0; i < 5; i++)); do sg_turs "$d" > /dev/null 2>&1 && break; done
    done
}
sgs=("$A" "$B")
for name in "${LOOP_LUS[@]}" "${ISCSI_LUS[@]}"; do
    for side in A B; do v=${name}_${side}_SG; [ -n "${!v:-}" ] && sgs+=("${!v}"); done
done
settle "${sgs[@]}"

# ---- 1. scan, caps, a fresh LU ---------------------------------------------------------------
phase "1. scan, caps, a fresh LU"
x lsscsi -g; cp "$W/out" "$W/lsscsi.txt"
SA scan
check "scan prints exactly what lsscsi -g prints" 'rc 0 && same "$W/lsscsi.txt" "$W/out" "scan vs lsscsi -g"'
check "scan lists the LU through A ($A) and B ($B)" \
    'out_matches "^\[$TB_A_HCTL\] +disk +LIO-ORG +FILEIO +4.0 +$TB_A_DEV +$A *\$" && out_matches "^\[$TB_B_HCTL\] +disk +LIO-ORG +FILEIO +4.0 +$TB_B_DEV +$B *\$"'
check "scan lists the scsi_debug tape: $TB_TAPE_ST and its sg node $TB_TAPE_SG" \
    'out_matches "^\[$TB_TAPE_HCTL\] +tape +Linux +scsi_debug +[0-9]+ +$TB_TAPE_ST +$TB_TAPE_SG *\$"'
SB --json scan; keep scan.json

SG -c "$A"; cp "$W/out" "$W/caps-sg_persist.txt"
SA "$A" caps
check "caps via A prints what sg_persist -c prints" 'rc 0 && same "$W/caps-sg_persist.txt" "$W/out" "caps vs sg_persist -c" && err_is ""'
SB --json "$B" caps; keep caps.json

SB "$B" regkeys
check "regkeys via B on a fresh LU: nothing, exit 0" 'rc 0 && out_is "" && err_is ""'
SA "$A" wholocked
check "wholocked via A on a fresh LU: nothing, exit 0" 'rc 0 && out_is "" && err_is ""'
SG -s "$A"; cp "$W/out" "$W/s.txt"
SA "$A" query
check "query via A with no registrations: header, generation, No full status descriptors (= sg_persist -s)" 'rc 0 && out_is "$HDR
  PR generation=0x0
  No full status descriptors" && same "$W/s.txt" "$W/out" "query vs sg_persist -s"'
SA "$A" status
check "status via A on a fresh LU" 'rc 0 && out_is "key=0xbac001 registered=0 locked=0 blockedby=no name=cibou" && err_is ""'

# ---- 2. register, trylock, busy, query layout --------------------------------------------------
phase "2. register, trylock, busy, query layout"
SA "$A" register
check "register via A: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SG -n -i -k "$B"
check "sg_persist -n -i -k via B shows A's registration" 'rc 0 && out_is "  PR generation=0x1, 1 registered reservation key follows:
    0xbac001"'
SA "$A" trylock
check "trylock via A: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SG -n -i -r "$B"
check "sg_persist -n -i -r via B shows A's Exclusive Access reservation" 'rc 0 && out_is "  PR generation=0x1, Reservation follows:
    Key=0xbac001
    scope: LU_SCOPE,  type: Exclusive Access"'
SA "$A" trylock
check "trylock via A while A holds it: exit 0 at once" 'rc 0 && out_is "" && err_is ""'
SB "$B" trylock
check "trylock via B while A holds it: exit 1, one line naming A's key and name" \
    'rc 1 && out_is "" && err_is "storage-ctl: $B: locked by 0xbac001 (cibou)"'
SB "$B" wholocked
check "wholocked via B: A's key, bare (as the original printed it), names configured or not" 'rc 0 && out_is "0xbac001" && err_is ""'
SB "$B" regkeys
check "regkeys via B: both keys, bare (B registered on its busy trylock)" \
    'rc 0 && out_is "0xbac001
0xbac999" && err_is ""'
SB "$B" status
check "status via B: registered, blocked by A" \
    'rc 0 && out_is "key=0xbac999 registered=1 locked=0 blockedby=0xbac001 name=dir blockedbyname=cibou"'
SA "$A" status
check "status via A: registered and locked, held for some seconds (its lock record)" 'rc 0 && out_matches "^key=0xbac001 registered=1 locked=1 blockedby=no name=cibou heldfor=[0-9]+$"'
SB "$B" audit
check "audit via B: both registered keys are in the configuration, exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SG -s "$B"; cp "$W/out" "$W/s.txt"
SB "$B" query
check "query via B: the exact layout with LIO's TransportIDs (tcm_loop: SAS addresses)" 'rc 0 && err_is "" && out_is "$HDR
  PR generation=0x2
    Key=0xbac001 (cibou)
      All target ports bit clear
      Relative port address: 0x1
      << Reservation holder >>
      scope: LU_SCOPE,  type: Exclusive Access
      Transport Id of initiator:
        SAS address: ${TB_A_INITIATOR/naa./0x}
    Key=0xbac999 (dir)
      All target ports bit clear
      Relative port address: 0x2
      not reservation holder
      Transport Id of initiator:
        SAS address: ${TB_B_INITIATOR/naa./0x}"'
unnamed "$W/out" > "$W/q.txt"
check "query via B without the (name) suffixes is what sg_persist -s prints" 'same "$W/s.txt" "$W/q.txt" "query vs sg_persist -s"'
SA --json "$A" query; keep query.json
SB --json "$B" regkeys; keep regkeys.json
SB --json "$B" wholocked; keep wholocked.json
SB --json "$B" status; keep status.json

# ---- 3. I/O enforcement: type 3 held by A --------------------------------------------------------
phase "3. I/O enforcement: type 3 held by A"
x sg_raw -r 512 "$B" "${READ10[@]}"
check "READ(10) via B while A holds Exclusive Access: RESERVATION CONFLICT (sg_raw)" \
    'rc 24 && any_has "SCSI Status: Reservation Conflict"'
x dd if="$TB_B_DEV" of=/dev/null bs=512 count=1 iflag=direct
check "dd iflag=direct on $TB_B_DEV while A holds the lock fails (EBADE: reservation conflict)" \
    'rc 1 && err_has "Invalid exchange"'
x sg_raw -r 512 "$A" "${READ10[@]}"
check "READ(10) via A (the holder) works" 'rc 0 && any_has "SCSI Status: Good" && any_has "Received 512 bytes"'
SA "$A" unlock
check "unlock via A: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
x sg_raw -r 512 "$B" "${READ10[@]}"
check "READ(10) via B works once A unlocked" 'rc 0 && any_has "SCSI Status: Good" && any_has "Received 512 bytes"'
x dd if="$TB_B_DEV" of=/dev/null bs=512 count=1 iflag=direct
check "dd iflag=direct on $TB_B_DEV works once A unlocked" 'rc 0'
SA "$A" unlock
check "unlock via A when nobody holds it: exit 0 with a note" 'rc 0 && err_is "storage-ctl: $A: not locked; nothing to release"'

# ---- 4. lock: max_lock_wait, waiting lock hand-off, SIGTERM --------------------------------------
phase "4. lock: max_lock_wait, waiting lock hand-off, SIGTERM"
SA "$A" trylock
x "$BIN" -c "$W/b.conf" -w 1 "$B" lock
check "lock -w 1 via B while A holds it: exit 4 after max_lock_wait, progress line then one error line" \
    'rc 4 && err_lines 2 && head -n 1 "$W/err" | grep -qxF "storage-ctl: $B: lock held by 0xbac001 (cibou); waiting up to 1 s" && tail -n 1 "$W/err" | grep -qxE "storage-ctl: $B: gave up after 1 s: lock held by 0xbac001 \(cibou\); the same holder at all [0-9]+ polls"'

# ts_of FILE PATTERN: seconds-of-day of the last debug-log line matching PATTERN
ts_of() { grep -F -- "$2" "$1" | tail -n 1 | awk '{ split($2, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'; }
handoffs=()
for pause in 0.2 1.5 3; do
    : > "$W/debug-a.log"; : > "$W/debug-b.log"
    timeout -k 5 60 "$BIN" -c "$W/b.conf" -w 30 "$B" lock > "$W/lock.out" 2> "$W/lock.err" & waiter=$!
    for ((i = 0; i < 500; i++)); do grep -q "waiting up to 30 s" "$W/lock.err" && break; sleep 0.02; done
    sleep "$pause"
    t0=$EPOCHREALTIME; SA "$A" unlock; t1=$EPOCHREALTIME
    unlock_rc=$RC
    wait "$waiter"; RC=$?; t2=$EPOCHREALTIME
    cp "$W/lock.out" "$W/out"; cp "$W/lock.err" "$W/err"; CMD="storage-ctl -w 30 $B lock (A unlocks after ${pause} s)"
    { echo "\$ $CMD"; sed 's/^/  err| /' "$W/err"; echo "  exit $RC"; } >> "$LOG"
    rel=$(ts_of "$W/debug-a.log" "unlock: PERSISTENT RESERVE OUT (RELEASE)")
    acq=$(ts_of "$W/debug-b.log" "lock: PERSISTENT RESERVE OUT (RESERVE): cdb [5f 01 03 00 00 00 00 00 18 00] -> Good")
    gap=$(awk -v a="$acq" -v r="$rel" 'BEGIN { if (a == "" || r == "") print "?"; else printf "%.3f", a - r }')
    after=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')
    since=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')
    handoffs+=("$gap")
    report "waiting lock via B, A unlocked after ${pause} s of waiting: RELEASE -> B's RESERVE GOOD ${gap} s (debug_log timestamps); B's lock exited ${after} s after A's unlock returned, ${since} s after it started"
    check "waiting lock via B acquires after A unlocks (waited ${pause} s): RELEASE -> RESERVE ${gap} s, lock exited ${after} s after unlock returned" \
        '[ "$unlock_rc" = 0 ] && rc 0 && err_lines 2 && head -n 1 "$W/err" | grep -qxF "storage-ctl: $B: lock held by 0xbac001 (cibou); waiting up to 30 s" && tail -n 1 "$W/err" | grep -qE "^storage-ctl: $B: lock acquired after waiting [0-9]+\.[0-9] s\$" && awk -v g="$gap" -v s="$after" "BEGIN { exit !(g != \"?\" && g >= 0 && g <= 1.5 && s <= 2) }"'
    SG -n -i -r "$A"
    check "sg_persist -n -i -r via A shows B's key holding the lock" 'rc 0 && out_has "    Key=0xbac999" && out_has "type: Exclusive Access"'
    SB "$B" unlock
    SA "$A" trylock
done
report "waiting-lock hand-off on LIO (RELEASE -> RESERVE): ${handoffs[*]} s"
SB "$B" unlock
check "unlock via B while A holds it: exit 0 with a note naming the holder" \
    'rc 0 && err_is "storage-ctl: $B: not holding the lock; it is held by 0xbac001 (cibou)"'
# (no timeout(1) here: the signal must reach storage-ctl itself; -w 30 bounds it)
"$BIN" -c "$W/b.conf" -w 30 "$B" lock > "$W/lock.out" 2> "$W/lock.err" & waiter=$!
for ((i = 0; i < 500; i++)); do grep -q "waiting up to 30 s" "$W/lock.err" && break; sleep 0.02; done
sleep 0.3; kill -TERM "$waiter"; wait "$waiter"; RC=$?
cp "$W/lock.out" "$W/out"; cp "$W/lock.err" "$W/err"; CMD="storage-ctl -w 30 $B lock, then SIGTERM"
{ echo "\$ $CMD"; sed 's/^/  err| /' "$W/err"; echo "  exit $RC"; } >> "$LOG"
check "SIGTERM while lock via B waits: exit 5, last line names the holder" \
    'rc 5 && err_lines 2 && grep -qE "^storage-ctl: $B: interrupted by SIGTERM after [0-9]+\.[0-9] s waiting; lock held by 0xbac001 \(cibou\)\$" "$W/err"'
SB "$B" wholocked
check "after the interrupted lock, A still holds it" 'rc 0 && out_is "0xbac001"'

# ---- 4b. fairness: a queue of jobs through A does not starve B's lock ---------------------------
phase "4b. fairness: A re-locks at once with 1 s holds, B waits"
SA "$A" unlock
passed_all=()
for trial in 1 2 3; do
    rm -f "$W/queue.stop" "$W/queue.held"
    ( while [ ! -e "$W/queue.stop" ]; do
          if "$BIN" -c "$W/a.conf" "$A" lock 2>> "$W/queue.err"; then
              echo held >> "$W/queue.held"; sleep 1; "$BIN" -c "$W/a.conf" "$A" unlock 2>> "$W/queue.err"
          fi
      done ) & queue=$!
    for ((i = 0; i < 500; i++)); do [ -s "$W/queue.held" ] && break; sleep 0.02; done
    sleep 0.3
    before=$(wc -l < "$W/queue.held")
    timeout -k 5 60 "$BIN" -c "$W/b.conf" -w 20 "$B" lock > "$W/out" 2> "$W/err"; RC=$?
    after=$(wc -l < "$W/queue.held")   # B holds the drive now: A cannot have taken it since
    passed=$((after - before)); passed_all+=("$passed")
    CMD="storage-ctl -w 20 $B lock while A re-locks at once (trial $trial)"
    { echo "\$ $CMD"; sed 's/^/  err| /' "$W/err"; echo "  exit $RC"; } >> "$LOG"
    check "fairness trial $trial: B's lock gets the drive within 3 of A's back-to-back holds (passed over $passed)" \
        'rc 0 && [ "$passed" -le 2 ]'
    SB "$B" unlock
    touch "$W/queue.stop"; wait "$queue"
done
report "fairness on LIO: A's back-to-back 1 s holds passed over by B's lock, per trial: ${passed_all[*]}"
SA "$A" unlock
SA "$A" trylock
check "after the fairness trials A holds the lock again" 'rc 0'

# ---- 5. preempt, unit attention after PREEMPT -------------------------------------------------
phase "5. preempt, unit attention after PREEMPT"
SB "$B" preempt bac999
check "preempt of our own key via B: exit 2, one line" 'rc 2 && err_lines 1 && err_has "refusing to preempt our own key 0xbac999 (dir)"'
SB "$B" preempt 5ca1ab1e
check "preempt of an unregistered key via B: exit 1 (the device's state), one line" 'rc 1 && err_is "storage-ctl: $B: 0x5ca1ab1e is not registered; nothing to preempt"'
SB "$B" preempt bac001
check "preempt bac001 via B: exit 0, B holds the lock and A's registration is gone" \
    'rc 0 && out_is "" && err_is "storage-ctl: $B: preempted 0xbac001 (cibou): its registration is gone and we hold the lock"'
SG -n -i -k "$B"
check "sg_persist -n -i -k via B: only B's key left" 'rc 0 && out_has "1 registered reservation key follows:" && out_has "    0xbac999" && ! out_has "0xbac001"'
SG -n -i -r "$B"
check "sg_persist -n -i -r via B: B holds Exclusive Access" 'rc 0 && out_has "    Key=0xbac999" && out_has "type: Exclusive Access"'
SA -v "$A" status
check "A's next storage-ctl command after the PREEMPT exits 0: the unit attention (2A/05) was retried (-v trace)" \
    'rc 0 && out_is "key=0xbac001 registered=0 locked=0 blockedby=0xbac999 name=cibou blockedbyname=dir" && err_has "-> Check Condition [Unit Attention: Registrations preempted]" && grep -A1 "Unit Attention" "$W/err" | tail -n 1 | grep -q "(READ KEYS): cdb \[5e 00 .*-> Good"'
x sg_raw -r 512 "$A" "${READ10[@]}"
check "READ(10) via A (preempted) while B holds Exclusive Access: RESERVATION CONFLICT" 'rc 24 && any_has "Reservation Conflict"'
# the same once more, showing the UA with the real sg_persist (it exits 6) before storage-ctl runs
SA "$A" register
SB "$B" preempt bac001
SG -n -i -k "$A"
check "after another PREEMPT, sg_persist via A fails once with UNIT ATTENTION (exit 6)" \
    'rc 6 && err_has "Registrations preempted" && err_has "sg_persist failed: Unit attention"'

# ---- 6. clear, unit attention after CLEAR -------------------------------------------------------
phase "6. clear, unit attention after CLEAR"
SA "$A" register
SA "$A" clear
check "clear via A: exit 0, stderr records the keys and the lock removed" \
    'rc 0 && out_is "" && err_is "storage-ctl: $A: cleared: removed registrations 0xbac999 (dir), 0xbac001 (cibou); removed the lock held by 0xbac999 (dir) (Exclusive Access)"'
SG -n -i -k "$A"
check "sg_persist -n -i -k via A after clear: no keys" 'rc 0 && out_has "there are NO registered reservation keys"'
SG -n -i -r "$A"
check "sg_persist -n -i -r via A after clear: no reservation" 'rc 0 && out_has "there is NO reservation held"'
SB -v "$B" trylock
check "B's next storage-ctl command after the CLEAR (trylock) exits 0: the unit attention (2A/03) was retried (-v trace)" \
    'rc 0 && err_has "PERSISTENT RESERVE IN (READ RESERVATION): cdb [5e 01 00 00 00 00 00 20 00 00] -> Check Condition [Unit Attention: Reservations preempted]"'
SA "$A" register
SB "$B" unlock
SA "$A" trylock
SB "$B" clear
check "clear via B: exit 0, stderr records the keys and the lock removed" \
    'rc 0 && err_is "storage-ctl: $B: cleared: removed registrations 0xbac999 (dir), 0xbac001 (cibou); removed the lock held by 0xbac001 (cibou) (Exclusive Access)"'
SG -n -i -r "$A"
check "after CLEAR, sg_persist via A fails once with UNIT ATTENTION (exit 6)" 'rc 6 && err_has "Reservations preempted"'

# ---- 7. what sg_persist did, as storage-ctl shows it; audit ------------------------------------
phase "7. what sg_persist did, as storage-ctl shows it; audit"
SA "$A" trylock
SG -n -o -G -S 5ca1ab1e "$B"
check "sg_persist registers a foreign key via B" 'rc 0'
SA "$A" regkeys
check "regkeys via A shows the key sg_persist registered" 'rc 0 && out_is "0xbac001
0x5ca1ab1e"'
SA "$A" audit
check "audit via A: exit 1, lists the key not in the configuration" \
    'rc 1 && out_is "0x5ca1ab1e" && err_is "storage-ctl: $A: 1 registered key is not in the configuration"'
SA --json "$A" audit; keep audit.json
SG -n -o -P -K 5ca1ab1e -S bac001 -T 1 "$B"
check "sg_persist preempts A's key via B and takes Write Exclusive" 'rc 0'
SA "$A" wholocked
check "wholocked via A shows sg_persist's key (the UA 2A/05 retried)" 'rc 0 && out_is "0x5ca1ab1e" && err_is ""'
SA "$A" status
check "status via A: blocked by sg_persist's key" 'rc 0 && out_is "key=0xbac001 registered=0 locked=0 blockedby=0x5ca1ab1e name=cibou"'
SG -s "$A"; cp "$W/out" "$W/s.txt"
SA "$A" query
check "query via A is what sg_persist -s prints (Write Exclusive held by 0x5ca1ab1e through B)" \
    'rc 0 && same "$W/s.txt" "$W/out" "query vs sg_persist -s" && out_has "type: Write Exclusive" && out_has "SAS address: ${TB_B_INITIATOR/naa./0x}"'
SA "$A" audit
check "audit via A: the foreign key holds the lock" 'rc 1 && out_is "0x5ca1ab1e holds the lock"'
SA "$A" trylock
check "trylock via A: exit 1 naming sg_persist's key" 'rc 1 && err_is "storage-ctl: $A: locked by 0x5ca1ab1e"'
x sg_raw -r 512 "$A" "${READ10[@]}"
check "READ(10) via A under Write Exclusive held by B works" 'rc 0 && any_has "SCSI Status: Good"'
x sg_raw -s 512 -i /dev/zero "$A" "${WRITE10[@]}"
check "WRITE(10) via A under Write Exclusive held by B: RESERVATION CONFLICT" 'rc 24 && any_has "Reservation Conflict"'
SA "$A" preempt 5ca1ab1e
check "preempt 5ca1ab1e via A: exit 0, A holds Exclusive Access" \
    'rc 0 && err_is "storage-ctl: $A: preempted 0x5ca1ab1e: its registration is gone and we hold the lock"'
SG -n -i -k "$B"
check "after storage-ctl's PREEMPT, sg_persist via B fails once with UNIT ATTENTION (exit 6)" 'rc 6 && err_has "Registrations preempted"'
SG -n -i -r "$B"
check "sg_persist -n -i -r via B: A holds Exclusive Access" 'rc 0 && out_has "    Key=0xbac001" && out_has "type: Exclusive Access"'

# ---- 8. reserve / release (raw), unregister --------------------------------------------------
phase "8. reserve / release (raw), unregister"
SA "$A" unlock
SG -n -i -r "$B"
check "sg_persist via B after unlock via A: no reservation" 'rc 0 && out_has "there is NO reservation held"'
SA -t wr-ex "$A" reserve
check "reserve -t wr-ex via A: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SG -n -i -r "$B"
check "sg_persist -n -i -r via B: A holds Write Exclusive" 'rc 0 && out_has "    Key=0xbac001" && out_has "type: Write Exclusive"'
SA -t 3 "$A" release
check "release -t 3 of a type-1 reservation: LIO answers RESERVATION CONFLICT (docs/pr-rules.md D4); storage-ctl names the type, exit 2" \
    'rc 2 && err_lines 1 && err_is "storage-ctl: $A: the lock is held with type 1 (Write Exclusive), not 3; use -t 1, or unlock"'
SG -n -i -r "$B"
check "... and A still holds Write Exclusive" 'rc 0 && out_has "    Key=0xbac001" && out_has "type: Write Exclusive"'
SA -t 1 "$A" release
check "release -t 1 via A: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SG -n -i -r "$B"
check "sg_persist -n -i -r via B after release: no reservation" 'rc 0 && out_has "there is NO reservation held"'
SB "$B" register
check "register via B: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SB -t 5 "$B" reserve
check "reserve -t 5 via B (registrants only): exit 0" 'rc 0 && err_is ""'
x sg_raw -s 512 -i /dev/zero "$A" "${WRITE10[@]}"
check "WRITE(10) via A, a registrant, under Write Exclusive Registrants Only held by B works" 'rc 0 && any_has "SCSI Status: Good"'
SB -t 5 "$B" release
check "release -t 5 via B: exit 0" 'rc 0 && err_is ""'
SA -v "$A" wholocked
check "A's next storage-ctl command after B released a type-5 reservation exits 0, its unit attention (2A/04) retried" \
    'rc 0 && out_is "" && err_has "-> Check Condition [Unit Attention: Reservations released]"'
SB "$B" trylock
SB "$B" unregister
check "unregister via B while holding the lock: exit 0, silent" 'rc 0 && out_is "" && err_is ""'
SG -n -i -k "$A"
check "sg_persist -n -i -k via A: B's key is gone" 'rc 0 && out_has "    0xbac001" && ! out_has "0xbac999"'
SG -n -i -r "$A"
check "sg_persist -n -i -r via A: unregistering the holder released the lock" 'rc 0 && out_has "there is NO reservation held"'
SA "$A" unregister
check "unregister via A: exit 0" 'rc 0 && out_is "" && err_is ""'
SB "$B" regkeys
check "regkeys via B: no keys left" 'rc 0 && out_is ""'
SB "$B" unregister
check "unregister via B when not registered: exit 0" 'rc 0 && err_is ""'
SA "$A" lock
check "lock via A on a free LU, not registered: exit 0 at once, silent" 'rc 0 && out_is "" && err_is ""'
SB "$B" wholocked
check "wholocked via B: A's key" 'rc 0 && out_is "0xbac001"'
SA "$A" unregister

# ---- 8b. two keys on one initiator; one key on two initiators -----------------------
phase "8b. two keys on one initiator; one key on two initiators"
# dir's configuration used through A's nexus: a second storage daemon sharing A's initiator
SHARED="storage-ctl: $A: refusing to register 0xbac999 (dir): this initiator is registered under another key, 0xbac001 (cibou), left as it is. Two storage daemons sharing one initiator (one HBA port; on a simulated drive, the one derived from the host name)? give each its own (initiator= or --initiator on a simulated drive). Changed key= on this host? move over with: storage-ctl -k 0xbac001 $A unregister"
UNSHARED="storage-ctl: $A: nothing unregistered: ${SHARED#*(dir): }"
SA "$A" lock
check "lock via A (cibou) on a free LU" 'rc 0 && err_is ""'
SG -s "$B"; cp "$W/out" "$W/shared-before.txt"
for verb in trylock lock register clear "preempt bac001"; do
    SB "$A" $verb
    check "$verb with dir's key through A's initiator: exit 6, one line naming cibou's key (LIO: REGISTER RK=ours and RK=0 both conflict)" 'rc 6 && out_is "" && err_is "$SHARED"'
done
SB "$A" unregister
check "unregister with dir's key through A's initiator: exit 6, cibou's registration left alone" 'rc 6 && err_is "$UNSHARED"'
SG -s "$B"
check "... and the LU is exactly as before (keys, holder, PR generation: sg_persist -s)" 'rc 0 && same "$W/shared-before.txt" "$W/out" "sg_persist -s before/after"'
SA "$A" unlock
check "unlock via A releases cibou's lock" 'rc 0 && err_is ""'
SA "$A" unregister
# cibou's configuration copied to B's host: one key through two initiators
SA "$A" lock
SA "$B" unlock
check "unlock with cibou's key via B (not registered): exit 1, nothing released, names the other initiator" \
    'rc 1 && err_is "storage-ctl: $B: nothing released: the lock is held by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?)"'
SA "$B" trylock
check "trylock with cibou's key via B: exit 1, held by our key through another initiator (B registers)" \
    'rc 1 && err_is "storage-ctl: $B: locked by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?)"'
SA "$B" status
check "status with cibou's key via B: locked=0, blocked by our own key, keyinitiators=2" \
    'rc 0 && out_is "key=0xbac001 registered=1 locked=0 blockedby=0xbac001 name=cibou blockedbyname=cibou keyinitiators=2"'
SA "$B" unlock
check "unlock via B, registered but not the holder (LIO: RELEASE GOOD, D6): exit 1, nothing released" \
    'rc 1 && err_is "storage-ctl: $B: nothing released: the lock is held by 0xbac001 (cibou) through another initiator (is this key configured on two hosts?)"'
SG -n -i -r "$B"
check "... A still holds the lock" 'rc 0 && out_has "    Key=0xbac001" && out_has "type: Exclusive Access"'
SA "$A" audit
check "audit: exit 1, cibou's key registered through 2 initiators" \
    'rc 1 && out_is "0xbac001 (cibou) is registered through 2 initiators and holds the lock" && err_is "storage-ctl: $A: 1 key is registered through more than one initiator (one key= on two hosts?)"'
SA "$A" unlock
check "unlock via A, the holder: exit 0, released" 'rc 0 && err_is ""'
SG -n -i -r "$B"
check "... no reservation left" 'rc 0 && out_has "there is NO reservation held"'
SA "$A" unregister
SA "$B" unregister

# ---- 9. tape node resolution (scsi_debug tape: no PR) ---------------------------------------
phase "9. tape node resolution (scsi_debug tape: no PR)"
if [ -n "${TB_TAPE_NST:-}" ]; then
    SA -v "$TB_TAPE_NST" regkeys
    check "-v $TB_TAPE_NST regkeys: says which sg node it used ($TB_TAPE_SG)" \
        'rc 3 && head -n 1 "$W/err" | grep -qF "storage-ctl: $TB_TAPE_NST: tape node ${TB_TAPE_NST#/dev/} is drive [$TB_TAPE_HCTL]; using its SCSI generic node $TB_TAPE_SG"'
    check "... and exits 3 with a clear not-supported line" \
        'tail -n 1 "$W/err" | grep -qE "^storage-ctl: $TB_TAPE_NST: persistent reservations are not supported by this device"'
    SA "$TB_TAPE_NST" wholocked
    check "$TB_TAPE_NST wholocked without -v: exit 3, exactly one line" \
        'rc 3 && err_lines 1 && err_has "persistent reservations are not supported by this device"'
    SA -v "$TB_TAPE_ST" trylock
    check "-v $TB_TAPE_ST trylock: resolved to $TB_TAPE_SG, exit 3 (INVALID OPERATION CODE)" \
        'rc 3 && err_has "tape node ${TB_TAPE_ST#/dev/} is drive [$TB_TAPE_HCTL]; using its SCSI generic node $TB_TAPE_SG" && tail -n 1 "$W/err" | grep -qE "^storage-ctl: $TB_TAPE_ST: .*(not supported|Invalid command operation code)"'
else
    check "test bed has a tape (run-in-vm.sh --tape)" 'false'
fi

# ---- 10. JSON documents --------------------------------------------------------------------
phase "10. JSON documents"
"$PY" - "$W" "$A" "$B" "$TB_A_INITIATOR" "$TB_TAPE_NST" "$TB_TAPE_SG" > "$W/json.txt" 2>&1 <<'PY'
import json, sys
w, a, b, ini_a, nst, tape_sg = sys.argv[1:]
def load(name):
    with open(f"{w}/{name}") as f:
        text = f.read()
    assert text.count("\n") == 1, f"{name}: not one line"
    return json.loads(text)
def check(desc, fn):
    try:
        fn(); print(f"ok {desc}")
    except Exception as e:
        print(f"FAIL {desc}: {type(e).__name__}: {e}")
def scan():
    d = load("scan.json")["devices"]
    t = [x for x in d if x["sg"] == tape_sg][0]
    assert t["type"] == "tape" and t["no_rewind_node"] == nst and t["node"] == nst.replace("/dev/n", "/dev/"), t
    assert any(x["sg"] == a for x in d) and any(x["sg"] == b for x in d)
def caps():
    d = load("caps.json")
    assert d["vendor"] == "LIO-ORG" and d["peripheral_type"] == "disk" and len(d["types"]) == 6, d
def query():
    d = load("query.json")
    r = d["registrations"]
    assert [x["key"] for x in r] == ["0xbac001", "0xbac999"] and r[0]["name"] == "cibou", r
    assert r[0]["holder"] and not r[1]["holder"] and r[0]["relative_target_port"] == 1
    assert r[0]["transport_id"]["protocol"] == "sas", r[0]
    assert d["reservation"]["type"] == 3 and d["reservation"]["holders"] == [{"key": "0xbac001", "name": "cibou"}], d
def regkeys():
    d = load("regkeys.json")
    assert d["device"] == b and d["keys"] == [{"key": "0xbac001", "name": "cibou"}, {"key": "0xbac999", "name": "dir"}], d
def wholocked():
    d = load("wholocked.json")
    assert d["locked"] and d["type"] == 3 and d["type_name"] == "Exclusive Access" and d["holders"][0]["key"] == "0xbac001", d
def status():
    d = load("status.json")
    assert d["key"] == "0xbac999" and d["registered"] and not d["locked"] and d["blocked_by"] == {"key": "0xbac001", "name": "cibou"}, d
def audit():
    d = load("audit.json")
    assert d["unknown"] == [{"key": "0x5ca1ab1e", "name": None, "holds_lock": False}], d
for name, fn in [("scan", scan), ("caps", caps), ("query", query), ("regkeys", regkeys),
                 ("wholocked", wholocked), ("status", status), ("audit", audit)]:
    check(f"--json {name}", fn)
PY
while read -r verdict desc; do
    CMD="$PY (JSON checks)"; RC=0; : > "$W/out"; cp "$W/json.txt" "$W/err"
    check "$desc parses and says what the text said" '[ "$verdict" = ok ]'
done < <(grep -E '^(ok|FAIL) ' "$W/json.txt" || echo "FAIL JSON checks did not run: $(head -n 3 "$W/json.txt")")

# ---- 11. the sg_persist personality: same text and exit codes as sg_persist on LIO ---------------
phase "11. the sg_persist personality: same text and exit codes as sg_persist on LIO"
normalize() {   # $1 transcript, $2 A sg node, $3 B sg node: device names and -vvv durations out
    sed -E -e '/^### /{/ A$/!s/ [^ ]+$/ B/}' -e "s#$2([^0-9]|\$)#<A>\1#g" -e "s#$3([^0-9]|\$)#<B>\1#g" \
        -e 's/duration=[0-9]+ ms/duration=N ms/' "$1"
}
mkdir -p "$W/personality"; ln -sf "$BIN" "$W/personality/sg_persist"
if [ "$LOOP_OK" = 1 ]; then
    # Both runs at once, each on its own LU (the guest has two vCPUs); each with its own copy of
    # vm-sequence.sh whose scratch files (/tmp/seq.*) are moved apart.
    for run in real ours; do sed "s#/tmp/seq\.#$W/seq-$run-tmp.#g" "$SEQUENCE" > "$W/seq-$run.sh"; done
    t0=$EPOCHREALTIME
    TB_A_SG=$seqreal_A_SG TB_B_SG=$seqreal_B_SG timeout -k 5 300 bash "$W/seq-real.sh" sg_persist > "$W/seq-real.txt" 2>&1 & p1=$!
    TB_A_SG=$sequs_A_SG TB_B_SG=$sequs_B_SG timeout -k 5 300 bash "$W/seq-ours.sh" "$W/personality/sg_persist" > "$W/seq-ours.txt" 2>&1 & p2=$!
    wait "$p1" "$p2"; t2=$EPOCHREALTIME
    cp "$W/seq-real.txt" "$OUT/persist-sequence-sg_persist.txt"; cp "$W/seq-ours.txt" "$OUT/persist-sequence-storage-ctl.txt"
    normalize "$W/seq-real.txt" "$seqreal_A_SG" "$seqreal_B_SG" > "$W/seq-real.norm"
    normalize "$W/seq-ours.txt" "$sequs_A_SG" "$sequs_B_SG" > "$W/seq-ours.norm"
    steps=$(grep -c '^### ' "$W/seq-real.norm")
    report "personality identity (tcm_loop): $steps steps; sg_persist and the personality side by side, both done in $(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s"
    CMD="vm-sequence.sh with sg_persist and with the personality"; RC=0; : > "$W/out"; : > "$W/err"
    check "sg_persist personality = real sg_persist over the $steps-step two-initiator sequence (stdout, stderr, exit codes; tcm_loop)" \
        '[ "$steps" -ge 40 ] && same "$W/seq-real.norm" "$W/seq-ours.norm" "personality transcript"'
else
    CMD="add-lus.sh ${LOOP_LUS[*]}"; RC=1; cp "$W/add-loop.err" "$W/err"; : > "$W/out"
    check "more tcm_loop LUs for the identity and SG_IO runs" 'false'
fi

# ---- 12. iSCSI: PREEMPT AND ABORT, iSCSI TransportIDs, identity -------------------------------
phase "12. iSCSI: PREEMPT AND ABORT, iSCSI TransportIDs, identity"
if [ "$ISCSI_OK" = 1 ]; then
    IA=$clii_A_SG IB=$clii_B_SG
    report "iSCSI LUs: clii A $IA B $IB, seqireal $seqireal_A_SG/$seqireal_B_SG, seqius $seqius_A_SG/$seqius_B_SG"
    SA "$IA" trylock
    SB "$IB" trylock
    check "iSCSI: trylock via B while A holds it: exit 1 naming A" 'rc 1 && err_is "storage-ctl: $IB: locked by 0xbac001 (cibou)"'
    SG -n -i -s "$IA"
    ISID_A=$(sed -n "s/.*$clii_A_INITIATOR,i,\(0x[0-9a-f]*\).*/\1/p" "$W/out")
    ISID_B=$(sed -n "s/.*$clii_B_INITIATOR,i,\(0x[0-9a-f]*\).*/\1/p" "$W/out")
    check "iSCSI: sg_persist -n -i -s shows both initiators' iSCSI port TransportIDs" '[ -n "$ISID_A" ] && [ -n "$ISID_B" ]'
    TMO=20 SB "$IB" preempt bac001 --abort
    check "iSCSI: preempt bac001 --abort via B (PREEMPT AND ABORT): exit 0, B holds the lock" \
        'rc 0 && err_is "storage-ctl: $IB: preempted 0xbac001 (cibou): its registration is gone and we hold the lock"'
    SA -v "$IA" regkeys
    check "iSCSI: A's next storage-ctl command after PREEMPT AND ABORT exits 0, its unit attention retried (-v trace)" \
        'rc 0 && out_is "0xbac999" && err_has "-> Check Condition [Unit Attention: "'
    SG -s "$IA"; cp "$W/out" "$W/s.txt"
    SA "$IA" query
    check "iSCSI: query via A, exact layout with LIO's iSCSI TransportIDs" 'rc 0 && out_is "$HDR
  PR generation=0x4
    Key=0xbac999 (dir)
      All target ports bit clear
      Relative port address: 0x1
      << Reservation holder >>
      scope: LU_SCOPE,  type: Exclusive Access
      Transport Id of initiator:
        iSCSI world wide unique port id: $clii_B_INITIATOR,i,$ISID_B"'
    unnamed "$W/out" > "$W/q.txt"
    check "iSCSI: query without names = sg_persist -s" 'same "$W/s.txt" "$W/q.txt" "query vs sg_persist -s"'
    SA --json "$IA" query
    check "iSCSI: query --json gives the iSCSI TransportID" \
        'rc 0 && "$PY" -c "import json, sys; t = json.load(open(sys.argv[1]))[\"registrations\"][0][\"transport_id\"]; assert t[\"protocol\"] == \"iscsi\" and sys.argv[2] in json.dumps(t), t" "$W/out" "$clii_B_INITIATOR"'
    x sg_raw -r 512 "$IA" "${READ10[@]}"
    check "iSCSI: READ(10) via A while B holds Exclusive Access: RESERVATION CONFLICT" 'rc 24 && any_has "Reservation Conflict"'
    SB "$IB" unlock
    SA "$IA" trylock
    check "iSCSI: after B unlocks, trylock via A: exit 0" 'rc 0 && err_is ""'

    # identity over iSCSI, with PREEMPT AND ABORT and iSCSI TransportIDs (-X)
    iseq() {   # $1 program $2 A $3 B $4 scratch prefix
        local p=$1 a=$2 b=$3 tmp=$4
        st() {
            local dev=$1; shift
            echo "### $* $([ "$dev" = "$a" ] && echo A || echo B)"
            timeout -k 5 20 "$p" "$@" "$dev" > "$tmp.out" 2> "$tmp.err"
            echo "[exit $?]"; echo "--stdout"; cat "$tmp.out"; echo "--stderr"; cat "$tmp.err"
        }
        st "$a" -o -G -S a1
        st "$b" -o -G -S b1
        st "$a" -o -R -K a1 -T 5
        st "$b" -i -s
        st "$b" -o -A -K b1 -S a1 -T 5
        st "$a" -i -k
        st "$a" -i -k
        st "$b" -i -s -H
        st "$a" -o -I -S a2
        st "$b" -o -A -K b1 -S a2 -T 5 -v
        st "$a" -i -r
        st "$a" -i -r
        st "$b" -o -M -K b1 -S a4 -T 5 -Q 1 -X "$clii_A_INITIATOR,i,$ISID_A"
        st "$a" -i -s
        st "$b" -o -M -K b1 -S a5 -T 5 -Q 1 -X "iqn.2026-11.org.testbed:nobody,i,0x1"
        st "$a" -o -A -K a4 -S b1 -T 3
        st "$b" -i -k
        st "$b" -i -s
        st "$a" -o -I -S a3 -Z
        st "$a" -c
        st "$b" -o -C -K b1
        st "$a" -o -C -K a3
        st "$b" -i -r
        st "$b" -i -s
    }
    t0=$EPOCHREALTIME
    iseq sg_persist "$seqireal_A_SG" "$seqireal_B_SG" "$W/iseq-real-tmp" > "$W/iseq-real.txt" 2>&1 & p1=$!
    iseq "$W/personality/sg_persist" "$seqius_A_SG" "$seqius_B_SG" "$W/iseq-ours-tmp" > "$W/iseq-ours.txt" 2>&1 & p2=$!
    wait "$p1" "$p2"; t2=$EPOCHREALTIME
    cp "$W/iseq-real.txt" "$OUT/persist-sequence-iscsi-sg_persist.txt"; cp "$W/iseq-ours.txt" "$OUT/persist-sequence-iscsi-storage-ctl.txt"
    normalize "$W/iseq-real.txt" "$seqireal_A_SG" "$seqireal_B_SG" > "$W/iseq-real.norm"
    normalize "$W/iseq-ours.txt" "$seqius_A_SG" "$seqius_B_SG" > "$W/iseq-ours.norm"
    steps=$(grep -c '^### ' "$W/iseq-real.norm")
    pa=$(grep -c '^### .*-o -A ' "$W/iseq-real.norm")
    report "personality identity (iSCSI): $steps steps ($pa PREEMPT AND ABORT); sg_persist and the personality side by side, both done in $(awk -v a="$t0" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s"
    CMD="iSCSI sequence with sg_persist and with the personality"; RC=0; : > "$W/out"; : > "$W/err"
    check "sg_persist personality = real sg_persist over a $steps-step iSCSI sequence with $pa PREEMPT AND ABORTs" \
        'same "$W/iseq-real.norm" "$W/iseq-ours.norm" "personality transcript (iSCSI)"'
else
    CMD="add-lus.sh --fabric iscsi ${ISCSI_LUS[*]}"; RC=1; cp "$W/add-iscsi.err" "$W/err"; : > "$W/out"
    check "iSCSI LUs for PREEMPT AND ABORT (setup.sh --iscsi installs open-iscsi)" 'false'
fi

# ---- 13. the SG_IO integration tests (XCTest bundle), on a LU of their own --------------------
phase "13. the SG_IO integration tests (XCTest bundle), on a LU of their own"
if [ -n "$XCTEST" ]; then
    if [ "$LOOP_OK" = 1 ]; then
        lsscsi -g > "$OUT/lsscsi.txt"
        export STORAGE_CTL_TB_A_SG=$sgio_A_SG STORAGE_CTL_TB_B_SG=$sgio_B_SG
        export STORAGE_CTL_TB_A_DEV=$sgio_A_DEV STORAGE_CTL_TB_B_DEV=$sgio_B_DEV
        export STORAGE_CTL_TB_TAPE_NST=${TB_TAPE_NST:-} STORAGE_CTL_TB_TAPE_SG=${TB_TAPE_SG:-}
        export STORAGE_CTL_TB_LSSCSI=$OUT/lsscsi.txt STORAGE_CTL_TB_REPORT=$REPORT
        chmod 0666 "$REPORT"
        TMO=180 x "$XCTEST" --testing-library swift-testing --filter SGIOIntegration
        check "SGIOIntegrationTests as root: the PR sequence, tape nodes and scan tests passed" \
            'rc 0 && any_has "Test persistentReservationsThroughTwoInitiators() passed" && any_has "Test tapeNodesResolveToTheirSgNode() passed" && any_has "Test scanPrintsWhatLsscsiPrints() passed"'
        STORAGE_CTL_TB_UNPRIVILEGED=1 TMO=60 x setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$XCTEST" --testing-library swift-testing --filter SGIOIntegration
        check "SGIOIntegrationTests as uid 65534: the EACCES test passed" 'rc 0 && any_has "Test unprivilegedOpenSaysWhichPrivilege() passed"'
    else
        CMD="add-lus.sh ${LOOP_LUS[*]}"; RC=1; cp "$W/add-loop.err" "$W/err"; : > "$W/out"
        check "a LU for the SG_IO integration tests" 'false'
    fi
fi

# ---- 13b. drives and check: a bacula-sd.conf naming the LUs as Control Devices ----------------
phase "13b. drives and check against the LUs"
if [ "$LOOP_OK" = 1 ]; then
    # LU0 held by cibou through A (this host); seqreal (done with in 11) held by dir, cibou registered
    SA "$A" clear; SA "$A" trylock
    DRIVE1=$seqreal_A_SG
    SB "$seqreal_B_SG" clear; SA "$DRIVE1" register; SB "$seqreal_B_SG" trylock
    check "drives set-up: A holds LU0, B holds seqreal with A registered" 'rc 0'
    {
        printf 'Storage {\n  Name = cibou-sd\n  Working Directory = /tmp\n}\n'
        printf 'Autochanger {\n  Name = Changer1\n  Changer Device = /dev/null\n  Device = Drive0, Drive1\n'
        printf '  Lock Command = "/opt/bacula/scripts/storage-ctl %%l %%o"\n}\n'
        printf 'Device {\n  Name = Drive0\n  Archive Device = /dev/nst0\n  Control Device = %s\n}\n' "$A"
        printf 'Device {\n  Name = Drive1\n  Archive Device = /dev/nst1\n  Control Device = %s\n}\n' "$DRIVE1"
    } > "$W/sd.conf"
    cp "$W/sd.conf" "$W/sd-all.conf"
    DOWN="Drive3" NDRIVES=3
    if [ -n "${TB_TAPE_SG:-}" ]; then   # scsi_debug's tape answers INQUIRY but has no PR: a row with its error
        printf 'Device {\n  Name = Drive2\n  Archive Device = %s\n  Control Device = %s\n}\n' "${TB_TAPE_NST:-/dev/nst9}" "$TB_TAPE_SG" >> "$W/sd-all.conf"
        DOWN="Drive2, Drive3" NDRIVES=4
    fi
    printf 'Device {\n  Name = Drive3\n  Control Device = /dev/sg-gone\n  Lock Command = "storage-ctl %%l %%o"\n}\n' >> "$W/sd-all.conf"

    SA -C "$W/sd.conf" drives
    keep drives-listing.txt; cp "$W/drives-listing.txt" "$OUT/drives-listing.txt"
    { echo "# storage-ctl -C sd.conf drives (as cibou):"; cat "$W/drives-listing.txt"; } >> "$LOG"
    check "drives: both LUs listed with INQUIRY, keys, holder and this host's state; exit 0" \
        'rc 0 && err_is "" && out_has "Drive0  (Autochanger Changer1)
  archive device  /dev/nst0
  control device  $A
  lock command    /opt/bacula/scripts/storage-ctl %l %o  (from Autochanger Changer1)
  device          LIO-ORG FILEIO 4.0 (disk)
  keys            0xbac001 (cibou)
  holder          0xbac001 (cibou)
  this host       key=0xbac001 registered=1 locked=1 heldfor=" && out_has "Drive1  (Autochanger Changer1)" && out_matches "^  keys            0xbac(001 \(cibou\), 0xbac999 \(dir\)|999 \(dir\), 0xbac001 \(cibou\))$" && out_has "  holder          0xbac999 (dir)
  this host       key=0xbac001 registered=1 locked=0
"'
    SA -C "$W/sd.conf" drives --json
    check "drives --json: two rows, Drive0 ours with held_for, Drive1 held by dir" \
        'rc 0 && "$PY" -c "import json, sys; d = json.load(open(sys.argv[1]))[\"drives\"]; assert [r[\"name\"] for r in d] == [\"Drive0\", \"Drive1\"], d; assert d[0][\"locked\"] and isinstance(d[0][\"held_for\"], int) and d[0][\"vendor\"] == \"LIO-ORG\", d[0]; assert d[1][\"holder\"] == {\"key\": \"0xbac999\", \"name\": \"dir\"} and not d[1][\"locked\"], d[1]" "$W/out"'
    SA "$A" status
    check "status on the holding host ends with heldfor=SECONDS" 'rc 0 && out_matches "^key=0xbac001 registered=1 locked=1 blockedby=no name=cibou heldfor=[0-9]+$"'
    SA -C "$W/sd.conf" check
    report "check: $(head -n 1 "$W/out")"
    { echo "# storage-ctl -C sd.conf check (as cibou):"; cat "$W/out"; } >> "$LOG"
    check "check: STORAGE-CTL OK with performance data, exit 0" \
        'rc 0 && out_matches "^STORAGE-CTL OK - 2 drives, 2 locked \(1 by this host\) \| .drives.=2;;;0 .unreachable.=0;;0;0 " && out_has "Drive1: 2 keys, locked by 0xbac999 (dir)"'
    SA -C "$W/sd.conf" check --held-warning 0 --held-critical 86400
    check "check --held-warning 0: WARNING for the drive this host holds, exit 1" \
        'rc 1 && out_matches "^STORAGE-CTL WARNING - Drive0: held by this host for [0-9]+ s \(warning at 0 s\) \| "'
    SA -C "$W/sd-all.conf" drives
    check "drives with a drive without PR and a missing one: every row listed, exit 3 naming them" \
        'rc 3 && err_is "storage-ctl: $((NDRIVES - 2)) of $NDRIVES drives could not be asked: $DOWN" && out_has "Drive3
  archive device  -
  control device  /dev/sg-gone
  lock command    storage-ctl %l %o
  error           /dev/sg-gone: " && out_has "holder          0xbac999 (dir)"'
    SA -C "$W/sd-all.conf" check
    report "check (sd-all.conf): $(head -n 1 "$W/out")"
    check "check: an unreachable drive is CRITICAL, exit 2" \
        'rc 2 && out_matches "^STORAGE-CTL CRITICAL - $((NDRIVES - 2)) of $NDRIVES drives unreachable \($DOWN\) \| "'
    SA -C "$W/sd-all.conf" drives --prometheus
    keep drives.prom; cp "$W/drives.prom" "$OUT/drives.prom"
    check "drives --prometheus: drive_up, holder_info and held_seconds for the LUs, exit 0" \
        'rc 0 && err_is "" && out_has "storage_ctl_drive_up{drive=\"Drive0\",control_device=\"$A\"} 1
" && out_has "storage_ctl_drive_up{drive=\"Drive3\",control_device=\"/dev/sg-gone\"} 0
" && out_has "storage_ctl_drive_holder_info{drive=\"Drive1\",control_device=\"$DRIVE1\",holder=\"0xbac999\",holder_name=\"dir\"} 1
" && out_matches "^storage_ctl_drive_held_seconds\{drive=\"Drive0\",control_device=\"$A\"\} [0-9]+$"'
    SA -C "$W/broken.conf" check
    check "check with a missing bacula-sd.conf: UNKNOWN, exit 3" 'rc 3 && out_matches "^STORAGE-CTL UNKNOWN - "'
else
    CMD="add-lus.sh ${LOOP_LUS[*]}"; RC=1; cp "$W/add-loop.err" "$W/err"; : > "$W/out"
    check "a second tcm_loop LU for drives and check" 'false'
fi

# ---- 14. fault: the device goes away while lock waits (last: it deletes B's path to LU0) -------
phase "14. the device goes away while lock waits"
SA "$A" clear
check "LU0 cleared for the fault check" 'rc 0'
timeout -k 5 150 bash "$(dirname "${BASH_SOURCE[0]}")/device-gone.sh" "$BIN" "$W/gone" > "$W/gone.out" 2>&1
merge_checks "$W/gone.out" ""
grep -q '^6 passed, 0 failed$' "$W/gone.out" || { F=$((F + 1)); echo "FAIL $((P + F)) - device-gone.sh did not finish its 6 checks"; sed 's/^/    /' "$W/gone.out" | tail -n 20; }

# ---- 14b. dm-multipath over two sessions of A, through the kernel's block-layer PR ioctls ------------
# Before 15, which logs A's first session out. multipath.sh says what it checks.
phase "14b. dm-multipath (dmsetup, no multipathd) and the block backend"
if [ "$ISCSI_OK" = 1 ] && [ -n "${mpath_A_DEV:-}" ]; then
    MP_A_DEV=$mpath_A_DEV MP_A_HCTL=$mpath_A_HCTL MP_A_INITIATOR=$mpath_A_INITIATOR MP_B_DEV=$mpath_B_DEV MP_B_SG=$mpath_B_SG \
        timeout -k 5 300 bash "$(dirname "${BASH_SOURCE[0]}")/multipath.sh" "$BIN" "$W/mpath" > "$W/mpath.out" 2>&1
    merge_checks "$W/mpath.out" "multipath: "
    grep -qE '^[0-9]+ passed, 0 failed$' "$W/mpath.out" || { F=$((F + 1)); echo "FAIL $((P + F)) - multipath.sh did not finish cleanly"; tail -n 20 "$W/mpath.out" | sed 's/^/    /'; }
else
    CMD="add-lus.sh --fabric iscsi ${ISCSI_LUS[*]}"; RC=1; : > "$W/out"; : > "$W/err"
    check "iSCSI LU for the multipath phase" 'false'
fi

# ---- 14c. fairness=fifo: three hosts (three initiator names) served in arrival order ---------------
# Before 15 (any order would do: it has a LU of its own, and logs its third initiator out again).
# fifo-three.sh says what it checks.
phase "14c. fairness=fifo: three hosts served in arrival order"
if [ "$ISCSI_OK" = 1 ] && [ -n "${fifo_A_SG:-}" ]; then
    FF_A_SG=$fifo_A_SG FF_A_DEV=$fifo_A_DEV FF_A_HCTL=$fifo_A_HCTL FF_B_SG=$fifo_B_SG FF_B_DEV=$fifo_B_DEV \
        timeout -k 5 400 bash "$(dirname "${BASH_SOURCE[0]}")/fifo-three.sh" "$BIN" "$W/fifo" > "$W/fifo.out" 2>&1
    merge_checks "$W/fifo.out" "fifo: "
    grep -qE '^[0-9]+ passed, 0 failed$' "$W/fifo.out" || { F=$((F + 1)); echo "FAIL $((P + F)) - fifo-three.sh did not finish cleanly"; tail -n 20 "$W/fifo.out" | sed 's/^/    /'; }
    report "fifo on LIO: $(sed -n 's/^# fifo-three: //p' "$W/fifo.out")"
else
    CMD="add-lus.sh --fabric iscsi ${ISCSI_LUS[*]}"; RC=1; : > "$W/out"; : > "$W/err"
    check "iSCSI LU for the fifo phase" 'false'
fi

# ---- 15. several paths of one host over iSCSI: a second session, a lost path, re-logins ----
# Last: it logs A's sessions out and in again. A reaches LU "paths" through sessions of its one initiator
# name (iface tbxA, then tbxA2, ... each login a new ISID); B (another IQN) is the other host and the
# referee: its dd iflag=direct must fail (RESERVATION CONFLICT) at every step, and its trylock polls in a
# tight loop during every takeover without ever getting the drive. (LIO lets every session of the
# holder's IQN through, so A's other sessions prove nothing; READ FULL STATUS through B tells the state.)
phase "15. several paths of one host: a second session, a lost path, re-logins"
if [ "$ISCSI_OK" = 1 ] && [ -n "${paths_A_SG:-}" ]; then
    ITGT=iqn.2026-11.org.testbed:extra IPORTAL=127.0.0.1:3261 INAME=$paths_A_INITIATOR
    PLUN=${paths_A_HCTL##*:} PB=$paths_B_SG PBDEV=$paths_B_DEV
    login() {   # login IFACE: a new session of A's name; sets REPLY to its sg node of LU "paths"
        local s n i
        iscsiadm -m iface -I "$1" -o new > /dev/null 2>&1
        iscsiadm -m iface -I "$1" -o update -n iface.initiatorname -v "$INAME" > /dev/null
        iscsiadm -m discovery -t st -p "$IPORTAL" -I "$1" > /dev/null 2>&1
        iscsiadm -m node -T "$ITGT" -p "$IPORTAL" -I "$1" --login > /dev/null 2>&1 || { REPLY=""; return 1; }
        REPLY=""
        for ((i = 0; i < 250; i++)); do
            for s in /sys/class/iscsi_session/session*; do
                read -r n < "$s/ifacename" 2> /dev/null || continue
                [ "$n" = "$1" ] || continue
                for n in "$s"/device/target*/*:*:*:"$PLUN"/scsi_generic/sg*; do [ -e "$n" ] && REPLY=/dev/${n##*/}; done
            done
            [ -n "$REPLY" ] && [ -c "$REPLY" ] && sg_turs "$REPLY" > /dev/null 2>&1 && return 0
            sleep 0.02
        done
        REPLY=""; return 1
    }
    logout() { iscsiadm -m node -T "$ITGT" -p "$IPORTAL" -I "$1" --logout > /dev/null 2>&1; }
    ours() { sg_persist -n -i -s "$PB" 2> /dev/null | grep -c "$INAME,i," ; }    # A's registrations, through B
    poll_b() {   # B's trylock in a loop until $W/stop-poll exists; counts in $W/poll
        local n=0 won=0
        while [ ! -e "$W/stop-poll" ]; do
            if timeout -k 2 10 "$BIN" -c "$W/b.conf" "$PB" trylock > /dev/null 2>&1; then
                won=$((won + 1)); timeout -k 2 10 "$BIN" -c "$W/b.conf" "$PB" unlock > /dev/null 2>&1
            fi
            n=$((n + 1))
        done
        echo "$n $won" > "$W/poll"
    }
    PA1=$paths_A_SG
    SB "$PB" register
    SA "$PA1" lock
    check "paths: A locks through its first session" 'rc 0'
    login tbxA2; PA2=$REPLY
    check "paths: a second session of A's initiator name gives the LU another sg node ($PA2)" '[ -n "$PA2" ] && [ "$PA2" != "$PA1" ]'
    SA "$PA2" status
    check "paths: status through the second session speaks for it: not registered, not holding; paths=1" \
        'rc 0 && out_is "key=0xbac001 registered=0 locked=0 blockedby=0xbac001 name=cibou blockedbyname=cibou paths=1"'
    SA -v "$PA2" caps
    check "paths: caps -v names this nexus (A's name, an ISID) and the other live path" \
        'rc 0 && err_has "this nexus: $INAME,i,0x" && err_has "other live paths: $INAME,i,0x"'
    x dd if="$PBDEV" of=/dev/null bs=512 count=1 iflag=direct
    check "paths: dd iflag=direct through B while A holds: reservation conflict" 'rc 1 && err_has "Invalid exchange"'
    # path 1 lost while holding
    logout tbxA
    rm -f "$W/stop-poll"; poll_b & poller=$!
    t0=$EPOCHREALTIME
    SA "$PA2" lock -w 20
    t1=$EPOCHREALTIME
    touch "$W/stop-poll"; wait "$poller"; read -r trials won < "$W/poll"
    report "paths: lost path -> lock through the other session: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s; B's trylock meanwhile: $trials trials, $won won"
    check "paths: path 1 logged out while holding: lock through path 2 takes over in one call, saying what moved (gone)" \
        'rc 0 && err_has "moved the reservation to this path" && err_has "(gone); removed by one PREEMPT of our own key"'
    CMD="B's trylock during the takeover"; RC=0; : > "$W/out"; : > "$W/err"
    check "paths: B polled trylock throughout the takeover and never got the drive ($trials trials)" '[ "$won" = 0 ]'
    SG -n -i -s "$PB"
    check "paths: READ FULL STATUS through B: one registration of A's key, holding, through session 2" \
        'rc 0 && [ "$(grep -c "Key=0xbac001" "$W/out")" = 1 ] && out_has "Reservation holder"'
    x dd if="$PBDEV" of=/dev/null bs=512 count=1 iflag=direct
    check "paths: dd through B after the takeover: still a reservation conflict" 'rc 1 && err_has "Invalid exchange"'
    SA "$PA2" status
    check "paths: status through path 2: registered=1 locked=1" 'rc 0 && out_has "registered=1 locked=1 blockedby=no"'
    # re-logins: log in again (a new ISID), lock through the new session, log the old one out; 20 times
    cur=tbxA2 cursg=$PA2 ok=0 bad=""
    rm -f "$W/stop-poll"; poll_b & poller=$!
    t0=$EPOCHREALTIME
    for ((cycle = 1; cycle <= 20; cycle++)); do
        next=tbxA; [ "$cur" = tbxA ] && next=tbxA2
        logout "$cur"
        login "$next" || { bad+="cycle $cycle: login failed; "; break; }
        nextsg=$REPLY
        timeout -k 5 30 "$BIN" -c "$W/a.conf" "$nextsg" lock -w 20 > "$W/cyc.out" 2> "$W/cyc.err" || { bad+="cycle $cycle: lock exit $? $(cat "$W/cyc.err"); "; }
        [ "$(ours)" = 1 ] || bad+="cycle $cycle: A registered $(ours) times; "
        timeout -k 2 5 dd if="$PBDEV" of=/dev/null bs=512 count=1 iflag=direct 2> /dev/null && bad+="cycle $cycle: B's dd went through; "
        cur=$next cursg=$nextsg ok=$cycle
    done
    t1=$EPOCHREALTIME
    touch "$W/stop-poll"; wait "$poller"; read -r trials won < "$W/poll"
    report "paths: $ok re-login cycles (logout, login with a new ISID, lock) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; B's trylock meanwhile: $trials trials, $won won"
    CMD="20 re-login cycles"; RC=0; printf '%s' "$bad" > "$W/err"; : > "$W/out"
    check "paths: 20 re-logins: every lock took over, one registration of A's key each time, B's dd refused, B never got the drive ($trials trials)" \
        '[ -z "$bad" ] && [ "$ok" = 20 ] && [ "$won" = 0 ]'
    # unlock through a live path while a dead one holds
    login tbxA3; sg3=$REPLY
    logout "$cur"
    SA "$sg3" unlock
    check "paths: unlock through a new session while the logged-out one holds: exit 0, released" 'rc 0'
    SB "$PB" trylock
    check "paths: B gets the drive after that unlock" 'rc 0'
    SB "$PB" unlock
    SA "$sg3" audit
    check "paths: audit through A's live session: nothing stale left" 'rc 0'
else
    CMD="add-lus.sh --fabric iscsi ${ISCSI_LUS[*]}"; RC=1; : > "$W/out"; : > "$W/err"
    check "iSCSI LU for the paths phase" 'false'
fi

phase end
echo "$P passed, $F failed"
report "$P passed, $F failed"
[ "$F" = 0 ]
