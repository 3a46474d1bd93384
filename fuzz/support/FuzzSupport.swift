// Shared by every fuzz target (compiled into each one by fuzz/build; SwiftPM never sees this file).
#if canImport(Glibc)
import Glibc
#endif

/// Reads a fuzzer input front to back. Past the end every read yields zeros or empty arrays, so a target
/// never has to check lengths: a short input simply means "the rest is zero".
struct FuzzInput {
    let bytes: [UInt8]
    private(set) var index = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = size > 0 ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }
    var remaining: Int { max(0, bytes.count - index) }

    mutating func u8() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }
    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }
    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }
    mutating func bool() -> Bool { u8() & 1 != 0 }

    /// Up to `count` bytes (fewer at the end of the input).
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, index + max(0, count))
        defer { index = max(index, end) }
        return index < end ? Array(bytes[index..<end]) : []
    }

    /// A length byte, then that many bytes.
    mutating func shortBlob() -> [UInt8] { take(Int(u8())) }

    /// Everything not read yet.
    mutating func rest() -> [UInt8] { take(remaining) }
}

/// An invariant the product must keep. A violation aborts, which libFuzzer reports as a crash and saves
/// the input that caused it.
@inline(never)
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        let text = "FUZZ INVARIANT VIOLATED at \(file):\(line): \(message())\n"
        _ = text.withCString { fputs($0, stderr) }
        abort()
    }
}

/// Big-endian integer at `offset` of `bytes`, or nil when it does not fit.
func fuzzBE<T: FixedWidthInteger & UnsignedInteger>(_ bytes: [UInt8], _ offset: Int, as: T.Type = T.self) -> T? {
    let size = MemoryLayout<T>.size
    guard offset >= 0, offset + size <= bytes.count else { return nil }
    var value: T = 0
    for byte in bytes[offset..<(offset + size)] { value = value << 8 | T(byte) }
    return value
}

func fuzzHex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}
