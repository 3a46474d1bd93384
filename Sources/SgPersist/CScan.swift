/// The C library number conversions sg_persist 1.46 applies to its option arguments, reproduced on bytes so
/// that every argument an admin types is accepted or refused exactly as the real tool does (glibc `sscanf`
/// `%x`, `%lx`, `%d`, and sg3_utils' `sg_get_num`). Strings here are C strings: they end at the first NUL.
enum CScan {
    /// `isspace` in the C locale.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    static func isHexDigit(_ byte: UInt8) -> Bool { hexValue(byte) != nil }

    /// ASCII `toupper`.
    static func upper(_ byte: UInt8) -> UInt8 { (0x61...0x7A).contains(byte) ? byte - 0x20 : byte }

    /// The bytes of `text` up to its first NUL.
    static func cString(_ text: String) -> [UInt8] { cString(Array(text.utf8)) }

    static func cString(_ bytes: [UInt8]) -> [UInt8] {
        if let nul = bytes.firstIndex(of: 0) { return Array(bytes[..<nul]) }
        return bytes
    }

    /// One glibc integer conversion (`%x`/`%lx` with `base` 16, `%d`/`%ld` with `base` 10) at the start of
    /// `bytes`: leading white space, an optional sign, for base 16 an optional `0x`, then digits; the value
    /// as `strtoul`/`strtol` gives it (saturating on overflow, negated for '-'), as 64 bits.
    /// Returns `nil` when the conversion fails (nothing but white space, a lone sign, no digits).
    /// `end` is the index after the last byte consumed.
    static func scanInteger(_ bytes: [UInt8], from start: Int = 0, base: Int, signed: Bool)
        -> (value: UInt64, end: Int)?
    {
        var index = start
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        guard index < bytes.count else { return nil }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        var digits: [UInt8] = []
        if base == 16, index < bytes.count, bytes[index] == UInt8(ascii: "0") {
            // glibc keeps the '0' as a digit and swallows an 'x' after it, digits or not.
            digits.append(0)
            index += 1
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "x") { index += 1 }
        }
        while index < bytes.count {
            let byte = bytes[index]
            let digit: UInt8?
            if base == 16 { digit = hexValue(byte) } else { digit = isDigit(byte) ? byte - 0x30 : nil }
            guard let digit else { break }
            digits.append(digit)
            index += 1
        }
        guard !digits.isEmpty else { return nil }
        var magnitude: UInt64 = 0
        var overflow = false
        for digit in digits {
            let (shifted, o1) = magnitude.multipliedReportingOverflow(by: UInt64(base))
            let (added, o2) = shifted.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { overflow = true }
            magnitude = added
        }
        if signed {
            // strtol: saturate to LONG_MAX / LONG_MIN.
            if negative {
                if overflow || magnitude > UInt64(Int64.max) + 1 { return (UInt64(bitPattern: Int64.min), index) }
                return (UInt64(bitPattern: 0 &- Int64(bitPattern: magnitude)), index)
            }
            if overflow || magnitude > UInt64(Int64.max) { return (UInt64(Int64.max), index) }
            return (magnitude, index)
        }
        // strtoul: ULONG_MAX on overflow; otherwise a '-' negates modulo 2^64.
        if overflow { return (UInt64.max, index) }
        return (negative ? 0 &- magnitude : magnitude, index)
    }

    /// `sscanf(text, "%lx", &u64) == 1`.
    static func scanHex64(_ text: [UInt8]) -> UInt64? {
        scanInteger(cString(text), base: 16, signed: false)?.value
    }

    /// `sscanf(text, "%x", &u32) == 1`: converted as unsigned long, stored truncated to 32 bits.
    static func scanHex32(_ text: [UInt8]) -> UInt32? {
        guard let value = scanInteger(cString(text), base: 16, signed: false)?.value else { return nil }
        return UInt32(truncatingIfNeeded: value)
    }

    /// `sscanf(text, "%d")`: converted as long, stored truncated to 32 bits.
    static func scanDecimal32(_ bytes: [UInt8], from start: Int = 0) -> (value: Int32, end: Int)? {
        guard let (value, end) = scanInteger(bytes, from: start, base: 10, signed: true) else { return nil }
        return (Int32(truncatingIfNeeded: value), end)
    }

    /// sg3_utils `sg_get_num()` (sg_lib.c, 1.46): decimal with multiplier suffixes (c w b k kb kib m ... g),
    /// hex with `0x` prefix or `h` suffix, and the experimental `x` (times) and `+` (plus) forms.
    /// Returns -1 when the number cannot be decoded; `warnings` receives "unrecognized multiplier".
    static func sgGetNum(_ input: [UInt8], warnings: inout String, depth: Int = 0) -> Int32 {
        let text = cString(input)
        guard !text.isEmpty, depth < 64 else { return -1 }
        var buf = text
        let leading = buf.prefix { $0 == 0x20 || $0 == 0x09 }.count
        if leading > 0 {
            if leading == buf.count { return -1 }
            buf.removeFirst(leading)
        }
        // The number ends at the first space, tab, comma, hash or hyphen; sg_get_num copies at most 15 bytes
        // of it into a local buffer in that case.
        var b = buf
        if let terminator = buf.firstIndex(where: { [0x20, 0x09, 0x2C, 0x23, 0x2D].contains($0) }) {
            b = Array(buf[..<min(terminator, 15)])
        }
        let len = b.count
        var isHex = false
        var b2pOffset = 0
        var num: Int32
        var count: Int
        var c: UInt8 = UInt8(ascii: "c")
        var c2: UInt8 = 0
        var c3: UInt8 = 0
        if b.count >= 2, b[0] == UInt8(ascii: "0"), b[1] == UInt8(ascii: "x") || b[1] == UInt8(ascii: "X") {
            // sscanf(b + 2, "%x%c", &unum, &c)
            guard let (value, end) = scanInteger(b, from: 2, base: 16, signed: false) else { return -1 }
            num = Int32(bitPattern: UInt32(truncatingIfNeeded: value))
            count = 1
            if end < b.count { c = b[end]; count = 2 }
            isHex = true
            b2pOffset = 2
        } else if len > 0, upper(b[len - 1]) == UInt8(ascii: "H") {
            // The buffer's last byte (for an empty buffer C reads the byte before it: it fails either way).
            guard let (value, _) = scanInteger(b, base: 16, signed: false) else { return -1 }
            num = Int32(bitPattern: UInt32(truncatingIfNeeded: value))
            count = 1
        } else {
            // sscanf(b, "%d%c%c%c", &num, &c, &c2, &c3)
            guard let (value, end) = scanDecimal32(b) else { return -1 }
            num = value
            count = 1
            if end < b.count { c = b[end]; count = 2 }
            if end + 1 < b.count { c2 = b[end + 1]; count = 3 }
            if end + 2 < b.count { c3 = b[end + 2]; count = 4 }
        }
        if count == 1 { return num }
        c = upper(c)
        if isHex, !(c == UInt8(ascii: "+") || c == UInt8(ascii: "X")) { return -1 }
        if count > 2 { c2 = upper(c2) }
        if count > 3 { c3 = upper(c3) }
        func scaled(_ factor: Int32, decimal: Int32) -> Int32 {
            if count == 2 { return num &* factor }
            if c2 == UInt8(ascii: "B") || c2 == UInt8(ascii: "D") { return num &* decimal }
            if c2 == UInt8(ascii: "I"), count == 4, c3 == UInt8(ascii: "B") { return num &* factor }
            return -1
        }
        let b2p = Array(b[min(b2pOffset, b.count)...])
        switch c {
        case UInt8(ascii: "C"): return num
        case UInt8(ascii: "W"): return num &* 2
        case UInt8(ascii: "B"): return num &* 512
        case UInt8(ascii: "K"): return scaled(1024, decimal: 1000)
        case UInt8(ascii: "M"): return scaled(1_048_576, decimal: 1_000_000)
        case UInt8(ascii: "G"): return scaled(1_073_741_824, decimal: 1_000_000_000)
        case UInt8(ascii: "X"):
            guard let x = b2p.firstIndex(of: UInt8(ascii: "x")) ?? b2p.firstIndex(of: UInt8(ascii: "X")) else { return -1 }
            let right = sgGetNum(Array(b2p[(x + 1)...]), warnings: &warnings, depth: depth + 1)
            return right == -1 ? -1 : num &* right
        case UInt8(ascii: "+"):
            guard let plus = b2p.firstIndex(of: UInt8(ascii: "+")) else { return -1 }
            let right = sgGetNum(Array(b2p[(plus + 1)...]), warnings: &warnings, depth: depth + 1)
            return right == -1 ? -1 : num &+ right
        default:
            warnings += "unrecognized multiplier\n"
            return -1
        }
    }
}
