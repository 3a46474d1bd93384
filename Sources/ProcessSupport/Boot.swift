#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The kernel's boot id (`/proc/sys/kernel/random/boot_id`): a random 128-bit value made at every boot.
/// Readings of CLOCK_BOOTTIME and process start times only mean something within one boot; a record that
/// carries its boot id says which, whatever the wall clock did meanwhile (an NTP step, a hand-set date).
public struct BootID: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// 32 hex digits, either case, with or without the four dashes the kernel prints (`8-4-4-4-12`),
    /// and at most one final newline; anything else is nil.
    public init?(text: some Collection<UInt8>) {
        var bytes = Array(text)
        if bytes.last == 0x0A { bytes.removeLast() }
        if bytes.count == 36 {
            guard [8, 13, 18, 23].allSatisfy({ bytes[$0] == UInt8(ascii: "-") }) else { return nil }
            bytes.removeAll { $0 == UInt8(ascii: "-") }
        }
        // digits only: UInt64(_:radix:) alone would also take a sign
        guard bytes.count == 32, bytes.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x46).contains($0 & 0xDF) }),
              let high = UInt64(String(decoding: bytes[0..<16], as: UTF8.self), radix: 16),
              let low = UInt64(String(decoding: bytes[16..<32], as: UTF8.self), radix: 16) else { return nil }
        self.high = high
        self.low = low
    }

    /// 32 lower-case hex digits, no dashes: how lock records store it.
    public var description: String { Self.sixteenDigits(high) + Self.sixteenDigits(low) }

    /// This boot's id, read once per process; nil where /proc is not mounted (then no record is trusted).
    public static let current: BootID? = {
        guard let bytes = try? Posix.readFile("/proc/sys/kernel/random/boot_id", limit: 64) else { return nil }
        return BootID(text: bytes)
    }()

    private static func sixteenDigits(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Where lock records read the time: CLOCK_BOOTTIME (immune to wall-clock steps, counting suspend) and
/// the boot it belongs to. The program uses `live`; tests give a clock of their own (an age must not depend
/// on how long the machine running them has been up) and, to play another boot, another id.
public struct BootClock: Sendable {
    /// Nanoseconds since boot. Small in the first seconds after boot: every use compares or subtracts
    /// readings, none assumes a minimum.
    public var now: @Sendable () -> Int64
    /// Which boot `now` counts from; nil when it cannot be told (no record is trusted then).
    public var bootID: BootID?

    public init(now: @escaping @Sendable () -> Int64, bootID: BootID?) {
        self.now = now
        self.bootID = bootID
    }

    public static var live: BootClock { BootClock(now: bootTime, bootID: BootID.current) }

    /// CLOCK_BOOTTIME in nanoseconds.
    @Sendable public static func bootTime() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// One process, told apart from any later process given the same pid: its pid and its start time in clock
/// ticks after boot (`/proc/PID/stat` field 22), exactly as the kernel keeps it. With the boot id this names
/// one process for good; "started before some instant" does not (a pid reused within the same tick passes).
public struct ProcessIdentity: Hashable, Sendable {
    public let pid: Int32
    public let startTicks: UInt64

    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }

    /// The process `pid` is now, or nil when there is none (or /proc cannot say).
    public static func of(pid: Int32) -> ProcessIdentity? {
        guard pid > 0, let bytes = try? Posix.readFile("/proc/\(pid)/stat", limit: 4096),
              let ticks = startTicks(statLine: bytes) else { return nil }
        return ProcessIdentity(pid: pid, startTicks: ticks)
    }

    /// This process.
    public static var current: ProcessIdentity? { of(pid: getpid()) }

    /// Field 22 of a `/proc/PID/stat` line. The command name (field 2, in parentheses) may hold spaces and
    /// parentheses itself, so fields are counted after its last ')': state is the first, start time the 20th.
    public static func startTicks(statLine bytes: [UInt8]) -> UInt64? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 20, !fields[19].isEmpty, fields[19].count <= 20,
              fields[19].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}
