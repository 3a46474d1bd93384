#if canImport(Glibc)
import Glibc
#endif

/// The bytes of a command-line argument as the kernel passed them.
///
/// Swift's `CommandLine.arguments` decodes argv as UTF-8 and repairs invalid bytes to U+FFFD, so a DEVICE
/// `lu\xff` would become `lu\xef\xbf\xbd`: another file. Paths are bytes: DEVICE, `-c FILE` and the
/// personality's DEVICE are opened by the bytes given. `original(of:)` finds them again in
/// `CommandLine.unsafeArgv` (read, never written); main passes nothing extra.
enum ArgumentBytes {
    /// The replacement character's UTF-8 bytes: where they are absent, no repair happened.
    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// The raw bytes of `value`, an argument or the value part of one (`--config=FILE`, `-cFILE`), as
    /// `CommandLine.arguments` shows it. Text without U+FFFD is its own bytes.
    static func original(of value: String) -> [UInt8] {
        let decoded = Array(value.utf8)
        guard contains(decoded, replacement) else { return decoded }
        for index in 0..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let raw = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                                count: strlen(pointer)))
            let repaired = Array(String(decoding: raw, as: UTF8.self).utf8)
            // The whole argument, or its tail after an ASCII option prefix (identical in both forms).
            guard repaired.count >= decoded.count, Array(repaired.suffix(decoded.count)) == decoded else { continue }
            let prefix = repaired.count - decoded.count
            guard raw.count >= prefix, repaired.prefix(prefix).allSatisfy({ $0 < 0x80 }),
                  Array(raw.prefix(prefix)) == Array(repaired.prefix(prefix)) else { continue }
            return Array(raw.dropFirst(prefix))
        }
        return decoded
    }

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where Array(bytes[start..<(start + needle.count)]) == needle {
            return true
        }
        return false
    }
}
