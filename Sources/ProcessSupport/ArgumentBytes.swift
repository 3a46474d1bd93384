#if canImport(Glibc)
import Glibc
#endif

/// The bytes of a command-line argument as the kernel passed them.
///
/// Swift's `CommandLine.arguments` decodes argv as UTF-8 and repairs invalid bytes to U+FFFD, so a DEVICE
/// `lu\xff` would become `lu\xef\xbf\xbd`: another file. Paths are bytes: DEVICE, `-c FILE` and the
/// personality's DEVICE are opened by the bytes given. `original(of:)` finds them again in
/// `CommandLine.unsafeArgv` (read, never written); main passes nothing extra.
public enum ArgumentBytes {
    /// The replacement character's UTF-8 bytes: where they are absent, no repair happened.
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// The raw bytes of `value`, an argument or the value part of one (`--config=FILE`, `-cFILE`), as
    /// `CommandLine.arguments` shows it. Text without U+FFFD is its own bytes. Whole arguments are matched
    /// first, then the tails of options; nil when arguments with different bytes read the same after repair
    /// (which one was meant cannot be told).
    public static func original(of value: String) -> [UInt8]? {
        let decoded = Array(value.utf8)
        guard decoded.contains(bytes: replacement) else { return decoded }
        var whole: [[UInt8]] = []
        var tails: [[UInt8]] = []
        for index in 0..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let raw = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                                count: strlen(pointer)))
            let repaired = Array(String(decoding: raw, as: UTF8.self).utf8)
            if repaired == decoded {
                whole.append(raw)
                continue
            }
            // The tail after an option's ASCII prefix (identical in both forms): `--config=`, `-vc`.
            guard repaired.count > decoded.count, repaired.first == UInt8(ascii: "-"),
                  Array(repaired.suffix(decoded.count)) == decoded else { continue }
            let prefix = repaired.count - decoded.count
            guard repaired.prefix(prefix).allSatisfy({ $0 < 0x80 }),
                  Array(raw.prefix(prefix)) == Array(repaired.prefix(prefix)) else { continue }
            tails.append(Array(raw.dropFirst(prefix)))
        }
        let candidates = whole.isEmpty ? tails : whole
        guard let first = candidates.first else { return decoded }
        return candidates.allSatisfy { $0 == first } ? first : nil
    }

    /// The message when `original(of:)` cannot tell; `shown` is the value as the caller's messages
    /// echo it (escaped, capped).
    public static func ambiguity(_ what: String, shown: String) -> String {
        "\(what) \(shown): two arguments that are not UTF-8 read the same; cannot tell "
            + "which bytes were meant"
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes. Bytes, not String.contains: that one pulls in the string
    /// processing library's generic searcher, ~180K instructions at its first use, in every command's start-up.
    public func contains(bytes needle: [UInt8]) -> Bool {
        guard count >= needle.count else { return false }
        for start in 0...(count - needle.count) where self[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }
}
