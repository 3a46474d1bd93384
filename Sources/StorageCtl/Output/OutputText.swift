import PRCore

/// Text that reaches a terminal or a parser must not be ambiguous: a name from the configuration,
/// a path or argument from the command line, or a string from a device could hold a newline or an
/// escape sequence. `escaped` is the one place that makes such text safe to echo: it keeps printable
/// ASCII and printable UTF-8 letters, and writes everything else as `\xNN` (a control character or a
/// byte that is not UTF-8), `\u{NNNN}` (a Unicode control, format or separator character), and a
/// backslash as `\\`; with `limit`, it echoes at most that many characters and says how much it left out.
public enum OutputText {
    /// How much of an argument or path a message echoes (characters of escaped text).
    public static let echoLimit = 160

    /// An argument, path or configured value as a message echoes it: escaped, at most `echoLimit` characters.
    public static func argument(_ text: String) -> String { escaped(text, limit: echoLimit) }

    /// `text` unchanged when it holds no control character (the common case, already escaped where it came
    /// from), else escaped: the last guard that keeps every stderr message on one line.
    public static func oneLine(_ text: String) -> String {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" }
            ? escaped(text) : text
    }

    public static func escaped(_ text: String, limit: Int? = nil) -> String {
        escaped(bytes: Array(text.utf8), limit: limit)
    }

    /// The same for bytes that need not be UTF-8 (a path from argv).
    public static func escaped(bytes: [UInt8], limit: Int? = nil) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        var count = 0
        var consumed = 0
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        func append(_ piece: String, _ length: Int) -> Bool {
            if let limit, count + piece.unicodeScalars.count > limit { return false }
            out += piece
            count += piece.unicodeScalars.count
            consumed += length
            return true
        }
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                let piece: String
                switch scalar.value {
                case 0x5C: piece = "\\\\"
                case 0x20...0x7E: piece = String(Character(scalar))
                case 0xA0...:
                    let category = scalar.properties.generalCategory
                    if category == .control || category == .format || category == .lineSeparator
                        || category == .paragraphSeparator || category == .unassigned || category == .privateUse
                        || category == .surrogate {
                        piece = "\\u{\(String(scalar.value, radix: 16))}"
                    } else {
                        piece = String(Character(scalar))
                    }
                default:
                    piece = "\\x" + Hex.twoDigits(UInt8(truncatingIfNeeded: scalar.value))
                }
                if !append(piece, encoded.count) { break loop }
            case .error(let length):
                let start = consumed
                let invalid = bytes[start..<(start + length)].map { "\\x" + Hex.twoDigits($0) }.joined()
                if !append(invalid, length) { break loop }
            case .emptyInput:
                break loop
            }
        }
        if consumed < bytes.count { out += "...(\(bytes.count - consumed) more bytes)" }
        return out
    }

    /// `5f 01 03 00 ...`: bytes for traces.
    public static func hexBytes(_ bytes: [UInt8]) -> String {
        bytes.map { Hex.twoDigits($0) }.joined(separator: " ")
    }
}

extension String {
    /// Every `target` scalar replaced by `replacement` (no Foundation on the start-up path). By scalar, not
    /// by Character: `|` or a space followed by a combining mark is one Character, but still the byte a
    /// reader splits on (Nagios at `|`, `status`'s fields at a space).
    func replacingOccurrences(_ target: Unicode.Scalar, _ replacement: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar == target { out.append(contentsOf: replacement.unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }
}
