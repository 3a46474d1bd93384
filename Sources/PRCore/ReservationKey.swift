/// RESERVATION KEY: the 8-byte key a nexus registers with (`docs/pr-rules.md` §4.2, §4.7: bytes 0–7 RK,
/// bytes 8–15 SARK of the PR OUT parameter list; READ KEYS lists them 8 bytes each, big-endian).
///
/// A key is never a bare `UInt64` past the parser. Zero is representable: it means "no key" in RK/SARK, and
/// whether a user may pass it is policy, not parsing.
public struct ReservationKey: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
                              ExpressibleByIntegerLiteral {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public init(integerLiteral value: UInt64) { self.rawValue = value }

    /// Key 0: "unregistered" in RK, "unregister" / "none" in SARK.
    public static let zero = ReservationKey(rawValue: 0)

    public var isZero: Bool { rawValue == 0 }

    /// `0x` + lower-case hex, no padding (`0xa1`), as sg_persist prints keys.
    public var description: String { "0x" + String(rawValue, radix: 16) }

    public static func < (lhs: ReservationKey, rhs: ReservationKey) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Why a key text was rejected.
    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// Nothing after the optional `0x`.
        case empty
        /// A character that is not a hex digit.
        case notHex
        /// More than 16 hex digits (more than 8 bytes).
        case tooLong

        public var description: String {
            switch self {
            case .empty: return "empty reservation key"
            case .notHex: return "reservation key is not hexadecimal"
            case .tooLong: return "reservation key has more than 16 hex digits"
            }
        }
    }

    /// Parses 1–16 hex digits with an optional `0x`/`0X` prefix, case-insensitive (`A1`, `0xa1`, `0X00000000000000A1`).
    public static func parse(_ text: String) throws(ParseError) -> ReservationKey {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty else { throw .empty }
        var value: UInt64 = 0
        var count = 0
        for scalar in digits.unicodeScalars {
            guard let nibble = hexValue(scalar) else { throw .notHex }
            count += 1
            guard count <= 16 else { throw .tooLong }
            value = value << 4 | UInt64(nibble)
        }
        return ReservationKey(rawValue: value)
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt8? {
        scalar.isASCII ? Hex.nibble(UInt8(scalar.value)) : nil
    }
}
