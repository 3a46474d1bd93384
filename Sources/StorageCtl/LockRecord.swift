#if canImport(Glibc)
import Glibc
#endif
import PRCore
import ProcessSupport

/// This host's own memory of one drive under one key, kept between storage-ctl runs: whether we
/// hold it (and the PRgeneration when we took it), whether we released it a moment ago while
/// other hosts were waiting, or whether a `lock` of ours is waiting for it now.
///
/// It is what makes the hand-off fair (docs/DESIGN.md "Fairness"). SCSI-3 PR has no queue and no
/// release notification, so a daemon with a queue of jobs that unlocks and locks again at once
/// wins every race against a waiter asleep in its backoff. Our waiters re-register their key on
/// every poll (a heartbeat: each REGISTER raises the PRgeneration, SPC-4 PRgeneration rule), so a
/// holder that sees the generation move while it held the drive knows someone is waiting, and
/// for `courtesyWindow` after its release its next `lock` yields to them. A lost, damaged or
/// foreign record only ever costs fairness, never mutual exclusion: that lives on the device.
public struct LockRecord: Equatable, Sendable {
    public enum State: Equatable, Sendable {
        /// We took the reservation; `generation` was the PRgeneration just after.
        case held(generation: UInt32)
        /// We released it; `waiters`: the generation had moved while we held it (someone heartbeated).
        case released(generation: UInt32, waiters: Bool)
        /// A `lock` (process `pid`) is waiting for the drive.
        case waiting(pid: Int32)
    }

    public var state: State
    /// CLOCK_BOOTTIME nanoseconds when the state began: one clock for every process of this boot,
    /// immune to wall-clock jumps, counting suspend.
    public var since: Int64

    public init(state: State, since: Int64) {
        self.state = state
        self.since = since
    }

    /// One text line: `held gen=12 since=123`, `released gen=15 waiters=1 since=123`,
    /// `waiting pid=42 since=123`. Anything else decodes to nil (treated as no record).
    public var encoded: String {
        switch state {
        case .held(let generation): return "held gen=\(generation) since=\(since)\n"
        case .released(let generation, let waiters): return "released gen=\(generation) waiters=\(waiters ? 1 : 0) since=\(since)\n"
        case .waiting(let pid): return "waiting pid=\(pid) since=\(since)\n"
        }
    }

    public init?(decoding text: String) {
        // Bytes, compared and converted by hand, indices instead of `zip`: Substring's generic
        // `hasPrefix` and `UInt64(_:)`, and `zip`'s iterator, cost every `unlock` ~400K instructions of
        // run-time metadata and conformance lookups (callgrind), more than the rest of the command.
        let bytes = Array(text.utf8)
        guard bytes.last == 0x0A, bytes.count <= 200 else { return nil }
        let words = bytes.dropLast().split(separator: 0x20, omittingEmptySubsequences: false)
        guard let state = words.first else { return nil }
        // the exact field names, in order, for each state
        let names: [[UInt8]]
        switch Array(state) {
        case Array("held".utf8): names = [Array("gen".utf8), Array("since".utf8)]
        case Array("released".utf8): names = [Array("gen".utf8), Array("waiters".utf8), Array("since".utf8)]
        case Array("waiting".utf8): names = [Array("pid".utf8), Array("since".utf8)]
        default: return nil
        }
        let first = names[0]
        guard words.count == names.count + 1 else { return nil }
        var values: [UInt64] = []
        for index in names.indices {
            let word = words[index + 1], name = names[index]
            // name=DIGITS, at most 20 digits, no overflow
            guard word.count > name.count + 1, word.starts(with: name),
                  word[word.startIndex + name.count] == 0x3D else { return nil }
            var value: UInt64 = 0
            for digit in word.dropFirst(name.count + 1) {
                guard digit >= 0x30, digit <= 0x39 else { return nil }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - 0x30))
                guard !o1, !o2 else { return nil }
                value = sum
            }
            values.append(value)
        }
        guard let since = Int64(exactly: values[values.count - 1]) else { return nil }
        if first == Array("pid".utf8) {
            guard let pid = Int32(exactly: values[0]), pid > 0 else { return nil }
            self.state = .waiting(pid: pid)
        } else if names.count == 3 {
            guard let generation = UInt32(exactly: values[0]), values[1] <= 1 else { return nil }
            self.state = .released(generation: generation, waiters: values[1] == 1)
        } else {
            guard let generation = UInt32(exactly: values[0]) else { return nil }
            self.state = .held(generation: generation)
        }
        self.since = since
    }

    /// How long, after a release that others were waiting for, our own next `lock` yields the drive:
    /// longer than a waiter's longest poll interval (`lock_retry_max`, jittered down to half of
    /// it) plus a command's round trip, so a waiting host's next poll finds it free.
    /// Capped at `maximumCourtesy`: a huge `lock_retry_max` must not turn one stale record into a long,
    /// silent wait for a free drive (such waiters poll too rarely to be helped anyway).
    public static func courtesyWindow(lockRetryMax: Duration) -> Duration {
        min(lockRetryMax + lockRetryMax / 4 + .milliseconds(20), maximumCourtesy)
    }

    /// The longest courtesy a `lock` ever pays.
    public static let maximumCourtesy = Duration.seconds(10)

    /// The rest of the courtesy our next `lock` owes the waiters at `now` (boot-clock ns), or nil.
    /// `generation` is the PRgeneration the drive shows now: if it moved since our release, a waiter
    /// heartbeated after it, which also earns the courtesy.
    public func courtesyLeft(now: Int64, generation: UInt32, lockRetryMax: Duration) -> Duration? {
        guard case .released(let releasedAt, let waiters) = state else { return nil }
        guard waiters || generation != releasedAt else { return nil }
        // A release "later than now" is from another boot (CLOCK_BOOTTIME restarts at 0, and run_dir
        // may outlive a boot): it owes nothing. Clamping it to "just now" yielded a free drive for
        // the whole max_lock_wait, since the window never ran out.
        guard now >= since else { return nil }
        let window = Self.courtesyWindow(lockRetryMax: lockRetryMax)
        let elapsed = Duration.nanoseconds(now - since)
        return elapsed < window ? window - elapsed : nil
    }
}

/// Where the records live: one directory owned by us (`run_dir`, default `/run/storage-ctl` for
/// root, `$XDG_RUNTIME_DIR/storage-ctl`, `/run/user/UID/storage-ctl` or `~/.storage-ctl` for others:
/// places no other user can create first; `defaultDirectory`), one file per drive
/// and key. The directory must be a real directory owned by our effective uid and writable by
/// nobody else; files are opened relative to it without following symbolic links and replaced
/// by rename, so a crash leaves the old record or the new one, never half of one.
/// Every failure here is silent to the verb (the record is an optimisation of fairness); the
/// tracer gets one line.
public struct LockRecordStore {
    let directory: String
    /// `lu-<dev>-<ino>` or `lu-rdev-<major>-<minor>`, then `-key-<hex>`.
    let name: String
    let trace: (String) -> Void
    /// The boot clock every `since` is read from and compared with: `LockRecordStore.now` in the
    /// program, a clock of the test's own in tests (an age must not depend on how long the machine
    /// running them has been up).
    public let clock: () -> Int64

    /// The record file for `devicePath` under `key`; nil (no fairness memory) when the path cannot
    /// be identified.
    public init?(directory: String, devicePath: String, key: ReservationKey, clock: @escaping () -> Int64 = LockRecordStore.now,
                 trace: @escaping (String) -> Void) {
        self.init(directory: directory, devicePathBytes: Array(devicePath.utf8), key: key, clock: clock, trace: trace)
    }

    /// As above, with DEVICE as the bytes given (argv): a path that is not UTF-8 is looked up by exactly those
    /// bytes, never by a String's repair of them (`X\xffY` is not `X\u{FFFD}Y`, which may be another drive).
    public init?(directory: String, devicePathBytes: [UInt8], key: ReservationKey,
                 clock: @escaping () -> Int64 = LockRecordStore.now, trace: @escaping (String) -> Void) {
        guard let identity = Self.identity(of: devicePathBytes) else { return nil }
        self.directory = directory
        self.name = "\(identity)-key-\(String(key.rawValue, radix: 16))"
        self.clock = clock
        self.trace = trace
    }

    /// The records' directory when `run_dir` is not set: `$STORAGE_CTL_RUN_DIR`; `/run/storage-ctl` for
    /// root; else inside a directory only we (or root) can create things in: `$XDG_RUNTIME_DIR`, then
    /// `/run/user/UID`, then our home directory (`~/.storage-ctl`; a storage daemon started by systemd
    /// has no runtime directory). nil when there is none. Never `/tmp`: any user could create
    /// `/tmp/storage-ctl-UID` first and so switch our records off.
    public static func defaultDirectory(environment: (String) -> String?) -> String? {
        if let dir = environment("STORAGE_CTL_RUN_DIR"), dir.hasPrefix("/") { return dir }
        if geteuid() == 0 { return "/run/storage-ctl" }
        if let runtime = environment("XDG_RUNTIME_DIR"), runtime.hasPrefix("/"), isPrivateDirectory(runtime) {
            return runtime + "/storage-ctl"
        }
        if isPrivateDirectory("/run/user/\(geteuid())") { return "/run/user/\(geteuid())/storage-ctl" }
        if let entry = getpwuid(geteuid()), let home = entry.pointee.pw_dir.map({ String(cString: $0) }),
           home.hasPrefix("/"), home != "/", isPrivateDirectory(home) {
            return home + "/.storage-ctl"
        }
        return nil
    }

    /// A directory in which no other user (root aside) can create an entry: ours, writable by nobody else.
    static func isPrivateDirectory(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return false }
        return RunDirectory.isPrivate(st)
    }

    /// Why records cannot be kept in `directory` (nil: no usable directory at all), or nil when they can:
    /// it exists as a directory of ours that nobody else can write, or is missing (made at first use).
    /// What `status`, `drives` and `check` say, since without records hold ages and fairness are off.
    public static func directoryProblem(_ directory: String?) -> String? {
        guard let directory else {
            return "no run_dir: not root, and no $XDG_RUNTIME_DIR, /run/user/\(geteuid()) or home directory of ours "
                + "(set run_dir= or $STORAGE_CTL_RUN_DIR)"
        }
        var st = stat()
        guard lstat(directory, &st) == 0 else { return nil }
        let shown = OutputText.escaped(directory, limit: OutputText.echoLimit)
        if st.st_mode & S_IFMT != S_IFDIR { return "run_dir \(shown) is not a directory" }
        if st.st_uid != geteuid() { return "run_dir \(shown) is owned by uid \(st.st_uid), not \(geteuid())" }
        if st.st_mode & 0o022 != 0 { return "run_dir \(shown) is writable by group or others" }
        return nil
    }

    /// The one line `status`, `drives` and `check` add when records cannot be kept.
    public static func recordsOffNote(_ problem: String) -> String {
        "hold ages (heldfor) and fairness are off: \(problem)"
    }

    /// The LU as this host names it: a simulated LU by its file's device and inode, a device node
    /// by its device number (the storage daemon always names a drive by the same Control Device).
    static func identity(of path: [UInt8]) -> String? {
        guard !path.isEmpty, !path.contains(0) else { return nil }
        var st = stat()
        let found = (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { stat($0.baseAddress!, &st) == 0 }
        }
        guard found else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "lu-\(String(st.st_dev, radix: 16))-\(String(st.st_ino, radix: 16))"
        case S_IFCHR, S_IFBLK: return "lu-rdev-\(String(st.st_rdev, radix: 16))"
        default: return nil
        }
    }

    /// Boot-clock nanoseconds (CLOCK_BOOTTIME): comparable between processes of one boot. Small in the
    /// first seconds after boot: every use compares or subtracts readings, none assumes a minimum.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    public func load() -> LockRecord? { loadWithStatus()?.record }

    /// The record and its file's status (its modification time says which boot wrote it).
    private func loadWithStatus() -> (record: LockRecord, status: stat)? {
        // a record is one short line: anything longer than 256 bytes is not one (no record)
        guard let (bytes, st) = files.read(name, limit: 256),
              let text = String(validating: bytes, as: UTF8.self),
              let record = LockRecord(decoding: text) else { return nil }
        return (record, st)
    }

    /// How long this host has held the drive, in whole seconds, by its `held` record: nil without
    /// one, and nil (unknown, never a made-up age) for a record another boot wrote. CLOCK_BOOTTIME
    /// restarts at 0 on every boot and `run_dir` may outlive one (it is only emptied at boot on a
    /// tmpfs such as /run): a `since` later than now is from an earlier boot, and so is a record
    /// whose file was last written (wall clock) before this boot began (wall clock now minus the
    /// boot clock, with a second's slack for the two readings).
    public func heldFor() -> Int64? {
        let now = clock()
        guard let (record, st) = loadWithStatus(), case .held = record.state, now >= record.since else { return nil }
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let bootStartedAt = Int64(wall.tv_sec) - now / 1_000_000_000
        guard Int64(st.st_mtim.tv_sec) >= bootStartedAt - 1 else { return nil }
        return (now - record.since) / 1_000_000_000
    }

    public func save(_ record: LockRecord) {
        files.write(name, Array(record.encoded.utf8), what: "lock record")
    }

    /// `lock`/`trylock` took the drive: the generation after our last REGISTER is the baseline
    /// `rememberReleased` compares with.
    public func rememberTaken(generation: UInt32) {
        save(LockRecord(state: .held(generation: generation), since: clock()))
    }

    /// `unlock` released the drive at `generation`: others were waiting if it moved since we took it
    /// (their heartbeats); without a record of our taking it, we assume not.
    public func rememberReleased(generation: UInt32) {
        var waiters = false
        if case .held(let taken)? = load()?.state { waiters = generation != taken }
        save(LockRecord(state: .released(generation: generation, waiters: waiters), since: clock()))
    }

    /// A `lock` of this process started waiting for the drive.
    public func rememberWaiting() {
        save(LockRecord(state: .waiting(pid: getpid()), since: clock()))
    }

    /// Forgets the drive (a lock that gave up waiting).
    public func remove() {
        files.remove(name)
    }

    /// Whether a `lock` of ours is waiting for the drive now (`status` says `waiting=1`): a waiting
    /// record whose process is still the one that wrote it. A killed waiter's pid may belong to
    /// another process by now: it started after the record was written (`/proc/PID/stat` start time,
    /// on the same boot clock), so it is not our waiter.
    public func isWaiting() -> Bool {
        guard let record = load(), case .waiting(let pid) = record.state,
              let started = Self.processStart(pid) else { return false }
        return started <= record.since
    }

    /// When process `pid` started, in boot-clock nanoseconds (rounded down to a clock tick, so a waiter
    /// always started no later than its record), or nil if
    /// there is no such process.
    static func processStart(_ pid: Int32) -> Int64? {
        guard let bytes = try? Posix.readFile("/proc/\(pid)/stat", limit: 4096),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // after "pid (comm)": state is field 3; starttime is field 22, so the 20th field after ')'
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 20, let ticks = Int64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        let hz = Int64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        return ticks * (1_000_000_000 / hz)
    }

    var files: RunDirectory { RunDirectory(directory: directory, trace: trace) }
}
