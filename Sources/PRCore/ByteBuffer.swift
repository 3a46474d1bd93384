/// Bounds-checked big-endian reading and writing of SCSI byte layouts.
///
/// Every multi-byte SCSI field is big-endian (SPC-4 §3.5, `docs/pr-rules.md` §4: "All multi-byte fields are
/// big-endian"), so these types only speak big-endian and say so at every call. A read past the end returns `nil`
/// and leaves the reader where it was: a short device response never traps.

/// Reads fields from a byte array front to back.
public struct ByteReader: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// Index of the next unread byte.
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }
    /// True when every byte has been read.
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Reads a big-endian unsigned integer of `T`'s width, or `nil` (reader unchanged) if too few bytes remain.
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger & UnsignedInteger>(as type: T.Type = T.self) -> T? {
        guard let value = peekInteger(as: type) else { return nil }
        advance(MemoryLayout<T>.size)
        return value
    }

    /// For the inlinable readers: `offset` stays settable only in this file.
    @usableFromInline
    mutating func advance(_ count: Int) { offset += count }

    /// Reads a big-endian unsigned integer without consuming it. Inlinable, like the other generic readers and
    /// writers here: callers in other modules (the simulated LU's file format) get a specialised copy instead of the
    /// generic one, whose first call costs ~70K instructions of run-time metadata lookups at start-up.
    @inlinable
    public func peekInteger<T: FixedWidthInteger & UnsignedInteger>(as type: T.Type = T.self) -> T? {
        let width = MemoryLayout<T>.size
        guard remaining >= width else { return nil }
        var value: T = 0
        for index in offset..<(offset + width) {
            value = (value << 8) | T(bytes[index])
        }
        return value
    }

    /// Reads `count` bytes, or `nil` (reader unchanged) if `count` is negative or too few bytes remain.
    public mutating func readBytes(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        let slice = Array(bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    /// Skips `count` bytes; returns false (reader unchanged) if they are not there.
    @discardableResult
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, remaining >= count else { return false }
        offset += count
        return true
    }

    /// Reads everything that is left.
    public mutating func readRemainingBytes() -> [UInt8] {
        let rest = Array(bytes[offset...])
        offset = bytes.count
        return rest
    }
}

/// Appends fields to a growing byte array.
public struct ByteWriter: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(max(0, capacity))
    }

    /// Appends `value` big-endian, using exactly `T`'s width.
    @inlinable
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        let width = MemoryLayout<T>.size
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: value >> shift))
        }
    }

    /// For the inlinable writers: `bytes` stays settable only in this file.
    @usableFromInline
    mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// Appends raw bytes.
    public mutating func writeBytes(_ data: [UInt8]) {
        bytes.append(contentsOf: data)
    }

    /// Appends `count` zero bytes (reserved and obsolete fields).
    public mutating func writeZeros(_ count: Int) {
        guard count > 0 else { return }
        bytes.append(contentsOf: repeatElement(0, count: count))
    }
}

extension Array where Element == UInt8 {
    /// The big-endian integer at `index`, or `nil` if the array is too short. For fixed-offset fields.
    @inlinable
    public func bigEndianInteger<T: FixedWidthInteger & UnsignedInteger>(at index: Int, as type: T.Type = T.self) -> T? {
        guard index >= 0, index <= count else { return nil }
        return ByteReader(self, offset: index).peekInteger(as: type)
    }

    /// The byte at `index`, or `nil` past the end.
    public func byte(at index: Int) -> UInt8? {
        indices.contains(index) ? self[index] : nil
    }
}
