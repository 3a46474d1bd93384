#!/usr/bin/env python3
"""Contention study: N storage-ctl processes take turns on one drive; how fast does the drive
pass from one to the next, what does waiting cost, and who waits longest?

Run by scripts/contention (which builds the release binary and the helper). Each configuration
(processes x lock_retry_initial x lock_retry_max) runs `contention-run` (scripts/contention-run.c):
each process loops lock -> hold HOLD ms (running `status` and `lock` as the holder meanwhile) ->
unlock, and queues again once the drive has passed to another process, so at every release N-1
processes are waiting. Every SCSI command's -v trace line is timestamped on arrival
(CLOCK_MONOTONIC), which places each RESERVE and RELEASE within microseconds.

Per configuration and repetition:
  gap        idle time from a RELEASE (GOOD) to the next RESERVE (GOOD), over all handoffs
  cmds/s     SCSI commands a waiting `lock` process sends per second of waiting
  wait       from starting `lock` to its RESERVE (GOOD); the longest one is the starvation figure,
             also counted in turns: acquisitions by the others while one `lock` waited (a FIFO
             queue would make that at most N-1)
  failures   commands that exited non-zero (lock, unlock, and the holder's status/lock while
             holding), or a holder's `status` that did not say locked=1: must be 0
The tables show the median over the repetitions of each figure (these machines are noisy).
"""
import argparse, bisect, json, os, statistics, subprocess, sys, tempfile, time


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def analyse(events):
    """Figures of one run from contention-run's event lines."""
    stop = None
    children = {}     # worker -> current child (label, start)
    locks = []        # (start, acquired or None, end, cmds)
    acquires, releases = [], []
    cmds_waiting, time_waiting = 0, 0.0
    commands = failures = holder_commands = holder_failures = 0
    failure_lines = []
    current_lock = {}
    seen_workers = set()
    for line in events:
        f = line.split(" ", 5)
        kind, t = f[0], int(f[1])
        if kind == "X":
            stop = t
        elif kind == "S":
            w, label = int(f[2]), f[3]
            children[w] = (label, t)
            seen_workers.add(w)
            if label == "lock":
                current_lock[w] = [t, None]
        elif kind == "A":
            w = int(f[2])
            acquires.append((t, w))
            if w in current_lock:
                current_lock[w][1] = t
        elif kind == "R":
            releases.append((t, int(f[2])))
        elif kind == "E":
            w, label, rc, cmds, ok = int(f[2]), f[3], int(f[4]), int(f[5].split()[0]), int(f[5].split()[1])
            start = children.pop(w)[1]
            commands += 1
            bad = rc != 0 or ok != 1
            failures += bad
            if label in ("probe-status", "probe-lock", "unlock"):
                holder_commands += 1
                holder_failures += bad
            if label == "lock":
                s, a = current_lock.pop(w)
                locks.append((s, a, t))
                if rc == 0:
                    cmds_waiting += cmds
                    time_waiting += (t - s) / 1e9
        elif kind == "F":
            failure_lines.append(line)
    if stop is None:
        stop = max(t for t, _ in acquires) if acquires else 0
    # handoffs: acquisition i (by w) -> w's release -> acquisition i+1, counted while queueing was on.
    # Lines are timestamped as they are read, so a RELEASE traced a few microseconds after the next
    # RESERVE (the releaser descheduled between the command and its trace line) gives a gap just
    # below zero: counted as 0.
    acquires.sort()
    releases.sort()
    gaps, self_handoffs = [], 0
    for i in range(len(acquires) - 1):
        t, w = acquires[i]
        rel = next((r for r, rw in releases if rw == w and r >= t), None)
        if rel is None or rel >= stop:
            continue
        gaps.append(max(0.0, (acquires[i + 1][0] - rel) / 1e6))
        self_handoffs += acquires[i + 1][1] == w
    waits = [(a - s) / 1e9 for s, a, _ in locks if a is not None and s < stop]
    # acquisitions per process: the fewest over the most (1.0: all alike; FIFO's goal is at least 0.8)
    per_worker = {}
    for t, w in acquires:
        if t < stop:
            per_worker[w] = per_worker.get(w, 0) + 1
    workers = seen_workers | set(per_worker)
    # turns passed over: acquisitions by the others while one `lock` waited (N-1 in a FIFO queue)
    times = [t for t, _ in acquires]
    passed = [bisect.bisect_left(times, a) - bisect.bisect_right(times, s) for s, a, _ in locks if a is not None and s < stop]
    return {
        "handoffs": len(gaps),
        "gap_p50_ms": percentile(gaps, 50),
        "gap_p99_ms": percentile(gaps, 99),
        "gap_max_ms": max(gaps) if gaps else float("nan"),
        "cmds_per_s_per_waiter": cmds_waiting / time_waiting if time_waiting else float("nan"),
        "wait_p50_s": percentile(waits, 50),
        "wait_max_s": max(waits) if waits else float("nan"),
        "passed_over_max": max(passed) if passed else float("nan"),
        "acq_fewest_over_most": (min(per_worker.get(w, 0) for w in workers) / max(per_worker.values())) if per_worker else float("nan"),
        "run_s": stop / 1e9,
        "commands": commands,
        "failures": failures,
        "holder_commands": holder_commands,
        "holder_failures": holder_failures,
        "self_handoffs": self_handoffs,
        "failure_lines": failure_lines[:5],
    }


def write_conf(path, key, initiator, initial, cap, fairness=None):
    with open(path, "w") as f:
        f.write(f"key={key}\n")
        if fairness:
            f.write(f"fairness={fairness}\n")
        if initiator:
            f.write(f"initiator={initiator}\n")
        f.write(f"max_lock_wait=600\nlock_retry_initial={initial}\nlock_retry_max={cap}\n")
    os.chmod(path, 0o600)


def run_config(args, binary, n, initial, cap, work, fairness=None):
    """One run of contention-run with `binary`; returns its figures."""
    if args.devices:
        devices = [args.devices[i % len(args.devices)] for i in range(n)]
    else:
        drive = os.path.join(work, "drive")
        open(drive, "w").close()          # a fresh simulated drive: `create` (a binary without it took an empty file)
        subprocess.run([binary, drive, "create"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        devices = [drive] * n
    argv = [args.helper, "-p", "-H", str(args.hold), "-T", str(args.seconds), "-r", args.relock] + (["-j"] if args.hold_jitter else [])
    if args.handoffs:
        argv += ["-M", str(args.handoffs)]
    argv.append(binary)
    for i in range(n):
        conf = os.path.join(work, f"host{i}.conf")
        write_conf(conf, f"c{i + 1:03x}", None if args.devices else f"iqn.2024-01.com.example:host{i}", initial, cap, fairness)
        argv += [devices[i], conf]
    # each run its own lock records (fairness memory), as each host has its own
    env = dict(os.environ, STORAGE_CTL_RUN_DIR=os.path.join(work, "run"))
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    if p.returncode not in (0, 1):
        sys.exit(f"contention: {' '.join(argv[:6])} ... failed ({p.returncode}): {p.stderr.strip()}")
    return analyse(p.stdout.splitlines())


def median(rows, key):
    vals = [r[key] for r in rows if r[key] == r[key]]
    return statistics.median(vals) if vals else float("nan")


def fmt(x, digits):
    return "-" if x != x else f"{x:.{digits}f}"


def table(results, title):
    out = [f"**{title}**", "",
           "| binary | processes | lock_retry_initial s | lock_retry_max s | handoffs | idle gap p50 ms | idle gap p99 ms "
           "| PR cmds/s per waiter | wait p50 s | longest wait s | most turns passed over | acquisitions fewest/most | failed commands |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (label, n, initial, cap), rows in results:
        failed = sum(r["failures"] for r in rows)
        total = sum(r["commands"] for r in rows)
        out.append(f"| {label} | {n} | {initial:g} | {cap:g} | {int(median(rows, 'handoffs'))} "
                   f"| {fmt(median(rows, 'gap_p50_ms'), 1)} | {fmt(median(rows, 'gap_p99_ms'), 1)} "
                   f"| {fmt(median(rows, 'cmds_per_s_per_waiter'), 1)} "
                   f"| {fmt(median(rows, 'wait_p50_s'), 2)} | {fmt(median(rows, 'wait_max_s'), 2)} "
                   f"| {fmt(median(rows, 'passed_over_max'), 0)} "
                   f"| {fmt(median(rows, 'acq_fewest_over_most'), 2)} "
                   f"| {failed} of {total} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("helper")
    ap.add_argument("--devices", help="comma-separated device paths (one per initiator); default: a simulated drive")
    ap.add_argument("--processes", default="2,4,8,16")
    ap.add_argument("--caps", default="0.1,0.25,0.5,1,2", help="lock_retry_max values (s), with --initial-default")
    ap.add_argument("--initials", default="0.01,0.1", help="extra lock_retry_initial values (s), with --cap-default; none: no such table")
    ap.add_argument("--initial-default", type=float, default=0.05)
    ap.add_argument("--cap-default", type=float, default=1.0)
    ap.add_argument("--hold", type=int, default=50, help="ms each process holds the drive")
    ap.add_argument("--hold-jitter", action="store_true", help="hold uniformly in [HOLD/2, 3*HOLD/2] instead")
    ap.add_argument("--seconds", type=float, default=30, help="time bound of one run")
    ap.add_argument("--handoffs", type=int, default=200, help="handoff bound of one run (0: none)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--label", default="simulated drive")
    ap.add_argument("--json", help="write every run's figures here")
    ap.add_argument("--relock", choices=["handoff", "immediate"], default="handoff",
                    help="handoff: a releaser queues again once the drive has passed on; immediate: at once (a queue of jobs)")
    ap.add_argument("--baseline", help="LABEL=PATH of an earlier build: every configuration also runs with it, interleaved")
    ap.add_argument("--binary-label", default="this build")
    ap.add_argument("--fairness", help="comma-separated fairness= settings (courtesy,fifo): each configuration runs "
                    "with each, interleaved, labelled by the setting; default: none written (the binary's default)")
    args = ap.parse_args()
    binaries = [(args.binary_label, args.binary)]
    if args.baseline:
        label, _, path = args.baseline.partition("=")
        binaries.insert(0, (label, path))
    fairness = {}
    if args.fairness:
        binaries = [(f"{label}, {mode}" if len(binaries) > 1 else mode, path) for label, path in binaries
                    for mode in args.fairness.split(",")]
        fairness = {label: label.rpartition(" ")[2] for label, _ in binaries}
    args.devices = [d for d in (args.devices or "").split(",") if d]
    processes = [int(x) for x in args.processes.split(",") if x]
    caps = [float(x) for x in args.caps.split(",") if x]
    initials = [float(x) for x in args.initials.split(",") if x and x != "none"]

    base = [(n, args.initial_default, c) for n in processes for c in caps]
    base += [(n, i, args.cap_default) for n in processes for i in initials if (n, i, args.cap_default) not in base]
    configs = [(label,) + c for c in base for label, _ in binaries]
    paths = dict(binaries)
    runs = {c: [] for c in configs}
    started = time.time()
    for rep in range(args.reps):       # repetitions outermost: drift hits every configuration alike
        for c in configs:
            with tempfile.TemporaryDirectory(prefix="storage-ctl-contention.") as work:
                r = run_config(args, paths[c[0]], *c[1:], work, fairness.get(c[0]))
            runs[c].append(r)
            print(f"contention: rep {rep + 1}/{args.reps} {c[0]} n={c[1]} initial={c[2]:g} max={c[3]:g}: "
                  f"{r['handoffs']} handoffs, gap p50 {r['gap_p50_ms']:.1f} ms p99 {r['gap_p99_ms']:.1f} ms, "
                  f"{r['cmds_per_s_per_waiter']:.1f} cmds/s/waiter, longest wait {r['wait_max_s']:.2f} s "
                  f"({r['passed_over_max']} turns passed over), acquisitions fewest/most {r['acq_fewest_over_most']:.2f}, "
                  f"{r['failures']} failed of {r['commands']} ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
            for line in r["failure_lines"]:
                print(f"contention:   {line}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"binary": c[0], "processes": c[1], "initial": c[2], "cap": c[3], "runs": runs[c]} for c in configs], f, indent=1)

    order = {label: i for i, (label, _) in enumerate(binaries)}
    cap_rows = sorted([(c, runs[c]) for c in configs if c[2] == args.initial_default], key=lambda x: (x[0][1], x[0][3], order[x[0][0]]))
    init_rows = sorted([(c, runs[c]) for c in configs if c[3] == args.cap_default], key=lambda x: (x[0][1], x[0][2], order[x[0][0]]))
    holder = sum(r["holder_commands"] for rs in runs.values() for r in rs)
    holder_failed = sum(r["holder_failures"] for rs in runs.values() for r in rs)
    total = sum(r["commands"] for rs in runs.values() for r in rs)
    failed = sum(r["failures"] for rs in runs.values() for r in rs)
    held = f"{args.hold // 2}-{args.hold * 3 // 2} ms (uniformly random)" if args.hold_jitter else f"{args.hold} ms"
    relock = "re-locks at once after its release (a queue of jobs)" if args.relock == "immediate" else "queues again once the drive has passed on"
    print(f"_{args.label}; each process holds the drive {held} and {relock}; each run ends after "
          f"{args.handoffs or 'unbounded'} handoffs or {args.seconds:g} s; medians of {args.reps} runs._")
    print()
    if len(caps) > 1 or not initials:
        print(table(cap_rows, f"Backoff cap (lock_retry_max), lock_retry_initial {args.initial_default:g} s"))
        print()
    if initials:
        print(table(init_rows, f"First retry (lock_retry_initial), lock_retry_max {args.cap_default:g} s"))
        print()
    print(f"Holder's commands while the others wait (status, lock while holding, unlock): "
          f"{holder_failed} failed of {holder}; all commands: {failed} failed of {total}.")


if __name__ == "__main__":
    main()
