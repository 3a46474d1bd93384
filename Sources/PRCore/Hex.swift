/// Hexadecimal text as sg3_utils and the traces print it: the one `hex2` of the program.
public enum Hex {
    /// `%02x`: at least two lower-case hex digits (`0f`, `5f`, `1a3`).
    @inlinable
    public static func twoDigits<T: BinaryInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
