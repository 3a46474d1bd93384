/// Text that reaches a terminal or a parser must not be ambiguous: a name from the configuration
/// or a string from a device could hold a newline or an escape sequence. `escaped` keeps printable
/// ASCII and UTF-8 letters, and writes everything else as `\xNN` (and a backslash as `\\`).
public enum OutputText {
    public static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5C: out += "\\\\"
            case 0x20...0x7E: out.unicodeScalars.append(scalar)
            case 0xA0...: // printable non-ASCII is kept unless it is a format/control character
                if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                    || scalar.properties.generalCategory == .lineSeparator || scalar.properties.generalCategory == .paragraphSeparator {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            default:
                out += "\\x" + hex2(UInt8(truncatingIfNeeded: scalar.value))
            }
        }
        return out
    }

    static func hex2(_ byte: UInt8) -> String {
        let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// `5f 01 03 00 ...`: bytes for traces.
    public static func hexBytes(_ bytes: [UInt8]) -> String {
        bytes.map(hex2).joined(separator: " ")
    }
}
