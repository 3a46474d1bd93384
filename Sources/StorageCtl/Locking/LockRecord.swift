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
        /// A `lock` is waiting for the drive: the process `waiter` (pid and start time, so that a later
        /// process given the same pid is not taken for it).
        case waiting(ProcessIdentity)
    }

    public var state: State
    /// CLOCK_BOOTTIME nanoseconds when the state began: one clock for every process of this boot,
    /// immune to wall-clock jumps, counting suspend.
    public var since: Int64
    /// The boot `since` (and a waiter's start time) counts from: a record of another boot is no record.
    public var boot: BootID

    public init(state: State, since: Int64, boot: BootID) {
        self.state = state
        self.since = since
        self.boot = boot
    }

    /// One text line: `held gen=12 since=123 boot=ID`, `released gen=15 waiters=1 since=123 boot=ID`,
    /// `waiting pid=42 start=9876 since=123 boot=ID` (ID: 32 lower-case hex digits). Anything else
    /// decodes to nil (treated as no record), records of earlier versions without `boot=` included.
    public var encoded: String {
        switch state {
        case .held(let generation): return "held gen=\(generation) since=\(since) boot=\(boot)\n"
        case .released(let generation, let waiters): return "released gen=\(generation) waiters=\(waiters ? 1 : 0) since=\(since) boot=\(boot)\n"
        case .waiting(let waiter): return "waiting pid=\(waiter.pid) start=\(waiter.startTicks) since=\(since) boot=\(boot)\n"
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
        // the exact field names, in order, for each state; all but `boot` are decimal
        let names: [[UInt8]]
        switch Array(state) {
        case Array("held".utf8): names = [Array("gen".utf8), Array("since".utf8)]
        case Array("released".utf8): names = [Array("gen".utf8), Array("waiters".utf8), Array("since".utf8)]
        case Array("waiting".utf8): names = [Array("pid".utf8), Array("start".utf8), Array("since".utf8)]
        default: return nil
        }
        guard words.count == names.count + 2 else { return nil }
        var values: [UInt64] = []
        for index in names.indices {
            guard let digits = Self.value(of: names[index], in: words[index + 1]) else { return nil }
            var value: UInt64 = 0
            // DIGITS: at most 20 digits, no overflow
            for digit in digits {
                guard digit >= 0x30, digit <= 0x39 else { return nil }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(digit - 0x30))
                guard !o1, !o2 else { return nil }
                value = sum
            }
            values.append(value)
        }
        guard let hex = Self.value(of: Array("boot".utf8), in: words[names.count + 1]), hex.count == 32,
              let boot = BootID(text: hex), boot.description.utf8.elementsEqual(hex) else { return nil }
        guard let since = Int64(exactly: values[names.count - 1]) else { return nil }
        switch Array(state) {
        case Array("waiting".utf8):
            guard let pid = Int32(exactly: values[0]), pid > 0 else { return nil }
            self.state = .waiting(ProcessIdentity(pid: pid, startTicks: values[1]))
        case Array("released".utf8):
            guard let generation = UInt32(exactly: values[0]), values[1] <= 1 else { return nil }
            self.state = .released(generation: generation, waiters: values[1] == 1)
        default:
            guard let generation = UInt32(exactly: values[0]) else { return nil }
            self.state = .held(generation: generation)
        }
        self.since = since
        self.boot = boot
    }

    /// The VALUE of `NAME=VALUE` when `word` is that (VALUE not empty), else nil.
    private static func value(of name: [UInt8], in word: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard word.count > name.count + 1, word.starts(with: name), word[word.startIndex + name.count] == 0x3D else { return nil }
        return word.dropFirst(name.count + 1)
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
        // The store hands out records of this boot only (boot id); a release "later than now" is still
        // no courtesy: clamping it to "just now" would yield a free drive for the whole max_lock_wait.
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
    /// The boot clock every `since` is read from and compared with, and the boot it counts from:
    /// `BootClock.live` in the program, a clock of the test's own in tests.
    public let bootClock: BootClock

    /// The record file for `devicePath` under `key`; nil (no fairness memory) when the path cannot
    /// be identified.
    public init?(directory: String, devicePath: String, key: ReservationKey, clock: BootClock = .live,
                 trace: @escaping (String) -> Void) {
        self.init(directory: directory, devicePathBytes: Array(devicePath.utf8), key: key, clock: clock, trace: trace)
    }

    /// As above, with DEVICE as the bytes given (argv): a path that is not UTF-8 is looked up by exactly those
    /// bytes, never by a String's repair of them (`X\xffY` is not `X\u{FFFD}Y`, which may be another drive).
    public init?(directory: String, devicePathBytes: [UInt8], key: ReservationKey,
                 clock: BootClock = .live, trace: @escaping (String) -> Void) {
        guard let identity = Self.identity(of: devicePathBytes) else { return nil }
        self.directory = directory
        self.name = "\(identity)-key-\(String(key.rawValue, radix: 16))"
        self.bootClock = clock
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
        guard let st = Posix.fileStatus(path), st.st_mode & S_IFMT == S_IFDIR else { return false }
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
        guard let st = try? FileDescriptor.currentWorkingDirectory.status(of: Array(directory.utf8), followingLinks: false) else {
            return nil
        }
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
        guard let st = try? FileDescriptor.currentWorkingDirectory.status(of: path, followingLinks: true) else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "lu-\(String(st.st_dev, radix: 16))-\(String(st.st_ino, radix: 16))"
        case S_IFCHR, S_IFBLK: return "lu-rdev-\(String(st.st_rdev, radix: 16))"
        default: return nil
        }
    }

    /// Boot-clock nanoseconds now, on this store's clock.
    public func clock() -> Int64 { bootClock.now() }

    /// This boot's record, or nil: none, damaged, or written in another boot (CLOCK_BOOTTIME restarts at 0
    /// on every boot and `run_dir` may outlive one; it is only emptied at boot on a tmpfs such as /run).
    /// Without a boot id of our own no record is trusted.
    public func load() -> LockRecord? {
        // a record is one short line: anything longer than 256 bytes is not one (no record)
        guard let (bytes, _) = files.read(name, limit: 256),
              let text = String(validating: bytes, as: UTF8.self),
              let record = LockRecord(decoding: text), record.boot == bootClock.bootID else { return nil }
        return record
    }

    /// How long this host has held the drive, in whole seconds, by its `held` record: nil without one
    /// of this boot (unknown, never a made-up age).
    public func heldFor() -> Int64? {
        let now = clock()
        guard let record = load(), case .held = record.state, now >= record.since else { return nil }
        return (now - record.since) / 1_000_000_000
    }

    /// Writes `state` as beginning now; nothing when this boot cannot be told (a record nobody can trust).
    func save(_ state: LockRecord.State) {
        guard let boot = bootClock.bootID else {
            trace("lock record: no boot id (/proc/sys/kernel/random/boot_id); not kept")
            return
        }
        save(LockRecord(state: state, since: clock(), boot: boot))
    }

    public func save(_ record: LockRecord) {
        files.write(name, Array(record.encoded.utf8), what: "lock record")
    }

    /// `lock`/`trylock` took the drive: the generation after our last REGISTER is the baseline
    /// `rememberReleased` compares with.
    public func rememberTaken(generation: UInt32) {
        save(.held(generation: generation))
    }

    /// `unlock` released the drive at `generation`: others were waiting if it moved since we took it
    /// (their heartbeats); without a record of our taking it, we assume not.
    public func rememberReleased(generation: UInt32) {
        var waiters = false
        if case .held(let taken)? = load()?.state { waiters = generation != taken }
        save(.released(generation: generation, waiters: waiters))
    }

    /// A `lock` of this process started waiting for the drive.
    public func rememberWaiting() {
        guard let me = ProcessIdentity.current else { return trace("lock record: cannot read /proc/self/stat; waiting not kept") }
        save(.waiting(me))
    }

    /// Forgets the drive (a lock that gave up waiting).
    public func remove() {
        files.remove(name)
    }

    /// Whether a `lock` of ours is waiting for the drive now (`status` says `waiting=1`): a waiting
    /// record of this boot whose process is still the one that wrote it, the same pid with the same
    /// start time. A killed waiter's pid may belong to another process by now, started later.
    public func isWaiting() -> Bool {
        guard let record = load(), case .waiting(let waiter) = record.state else { return false }
        return ProcessIdentity.of(pid: waiter.pid) == waiter
    }

    var files: RunDirectory { RunDirectory(directory: directory, trace: trace) }
}
