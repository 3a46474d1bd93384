/// Hexadecimal text as sg3_utils and the traces print it: the one `hex2` of the program.
public enum Hex {
    /// `%02x`: at least two lower-case hex digits (`0f`, `5f`, `1a3`).
    @inlinable
    public static func twoDigits<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }

    /// The value of one ASCII hex digit (either case), or nil.
    @inlinable
    public static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    /// 1 to `maxDigits` hex digits (no prefix, no sign) as a number, or nil.
    public static func value(_ digits: some Collection<UInt8>, maxDigits: Int) -> UInt64? {
        guard !digits.isEmpty, digits.count <= maxDigits else { return nil }
        var value: UInt64 = 0
        for c in digits {
            guard let v = nibble(c) else { return nil }
            value = value << 4 | UInt64(v)
        }
        return value
    }
}
