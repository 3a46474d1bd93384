/// CRC-32C (Castagnoli): the checksum of the simulated LU's state slots and header.
///
/// Parameters: polynomial 1EDC6F41h (reflected 82F63B78h), initial value FFFFFFFFh, input and output reflected,
/// final XOR FFFFFFFFh; the check value of the ASCII bytes "123456789" is E3069283h. It is the CRC of iSCSI
/// digests and ext4/Btrfs metadata. It detects every error burst up to 32 bits and lets a random torn slot pass
/// with probability 2^-32, and the length and tag checks around it narrow that further.
struct SimCRC32C: Sendable {
    private var state: UInt32 = 0xFFFF_FFFF

    init() {}

    /// Feeds `bytes` into the checksum.
    mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        var crc = state
        for byte in bytes {
            crc = SimCRC32C.table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        state = crc
    }

    /// The checksum of everything fed so far.
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The checksum of `bytes`.
    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc = SimCRC32C()
        crc.update(bytes)
        return crc.value
    }

    /// One entry per byte value: the remainder of that byte shifted through the reflected polynomial.
    private static let table: [UInt32] = (0..<256).map { index in
        var remainder = UInt32(index)
        for _ in 0..<8 {
            remainder = (remainder & 1) != 0 ? (remainder >> 1) ^ 0x82F6_3B78 : remainder >> 1
        }
        return remainder
    }
}
