import PRCore

/// The `--transport-id=TIDS` / `-X TIDS` argument of sg_persist 1.46: one TransportID on the command line
/// (symbolic `sas,HEX16`, `fcp,HEX16`, `sbp,HEX16`, `srp,HEX16`, `spi,N,N`, `iqn.NAME[,i,0xISID]`, or a list of
/// hex bytes separated by commas or spaces), or several from a file (`file=NAME`) or standard input (`-`),
/// one a line, `#` comments.
///
/// sg_persist keeps the TransportIDs in one array of 32 slots of 256 bytes that every `-X` writes into again
/// without clearing it first (only the first 24 bytes of a slot are zeroed per symbolic form), and it sends
/// the slots compacted. That array is modelled as is, so repeated `-X` options send the same bytes.
struct PersistTransportIDs: Hashable, Sendable {
    static let slotLength = 256
    static let slotCount = 32

    /// `transportid_arr`: 32 slots of 256 bytes.
    var array = [UInt8](repeating: 0, count: slotCount * slotLength)
    /// `num_transportids`.
    var count = 0

    /// Where file and standard input TransportIDs come from: the bytes of the named file (`nil` path: standard
    /// input), or `nil` when it cannot be opened.
    typealias Reader = (_ path: String?) -> [UInt8]?

    /// `build_transportid()`: parses one `-X` argument. `memoryAfter` is what follows the argument in the
    /// process's argv block (sg_persist reads past the end of an `srp,` argument). Returns false (after writing
    /// sg_persist's diagnostics) when the argument is bad.
    mutating func add(argument: [UInt8], memoryAfter: [UInt8], reader: Reader, diagnostics: inout String) -> Bool {
        let input = CScan.cString(argument)
        if input.isEmpty { count = 0 }
        if input.first == UInt8(ascii: "-") || input.starts(with: Array("file=".utf8)) || input.starts(with: Array("FILE=".utf8)) {
            let path: String? = input.first == UInt8(ascii: "-") ? nil : String(decoding: input.dropFirst(5), as: UTF8.self)
            return readFile(path: path, reader: reader, diagnostics: &diagnostics)
        }
        var k = 0
        if PersistTransportIDs.decodeSymbolic(input, memory: input + [0] + memoryAfter, into: &array, at: 0, diagnostics: &diagnostics) {
            count = 1
            return true
        }
        let allowed = Array("0123456789aAbBcCdDeEfF, ".utf8)
        let span = input.prefix { allowed.contains($0) }.count
        if span != input.count {
            diagnostics += "build_transportid: error at pos \(span + 1)\n"
            return false
        }
        var position = 0
        k = 0
        while k < array.count {
            let rest = Array(input[min(position, input.count)...])
            guard let value = CScan.scanHex32(rest) else {
                diagnostics += "build_transportid: error at pos \(position + 1)\n"
                return false
            }
            if value > 0xFF {
                diagnostics += "build_transportid: hex number larger than 0xff at pos \(position + 1)\n"
                return false
            }
            array[k] = UInt8(value)
            let comma = rest.firstIndex(of: UInt8(ascii: ","))
            let space = rest.firstIndex(of: UInt8(ascii: " "))
            var next = comma ?? space
            if let c = comma, let s = space, s < c { next = s }
            guard let next else { break }
            position += next + 1
            k += 1
        }
        count = 1
        if k >= array.count {
            diagnostics += "build_transportid: array length exceeded\n"
            return false
        }
        return true
    }

    /// `decode_file_tids()`.
    private mutating func readFile(path: String?, reader: Reader, diagnostics: inout String) -> Bool {
        guard let contents = reader(path) else {
            diagnostics += "decode_file_tids: unable to open \(path ?? "(null)")\n"
            return false
        }
        var offset = 0
        var number = 0
        var carryOver: UInt8 = 0
        var cursor = 0
        var lineNumber = 0
        while lineNumber < 512 {
            defer { lineNumber += 1 }
            // fgets(line, 1024, fp): up to 1023 bytes, through the newline.
            guard cursor < contents.count else { break }
            var chunkEnd = cursor
            while chunkEnd < contents.count, chunkEnd - cursor < 1023 {
                chunkEnd += 1
                if contents[chunkEnd - 1] == 0x0A { break }
            }
            var line = CScan.cString(Array(contents[cursor..<chunkEnd]))
            cursor = chunkEnd
            let splitLine: Bool
            if line.last == 0x0A {
                line.removeLast()
                splitLine = false
            } else {
                splitLine = !line.isEmpty
            }
            if line.isEmpty {
                carryOver = 0
                continue
            }
            var start = 0
            if carryOver != 0 {
                if CScan.isHexDigit(line[0]) {
                    let pair = [carryOver, line[0]]
                    if let h = CScan.scanHex32(pair), offset >= 1, offset - 1 < array.count {
                        array[offset - 1] = UInt8(truncatingIfNeeded: h)
                    }
                    start = 1
                }
                carryOver = 0
            }
            var text = Array(line[start...])
            let leading = text.prefix { $0 == 0x20 || $0 == 0x09 }.count
            if leading == text.count { continue }
            text.removeFirst(leading)
            if text.first == UInt8(ascii: "#") { continue }
            if offset + PersistTransportIDs.slotLength <= array.count,
               PersistTransportIDs.decodeSymbolic(text, memory: text + [0], into: &array, at: offset, diagnostics: &diagnostics) {
                // accepted as a symbolic TransportID
            } else {
                let allowed = Array("0123456789aAbBcCdDeEfF ,\t".utf8)
                let span = text.prefix { allowed.contains($0) }.count
                if span < text.count, text[span] != UInt8(ascii: "#") {
                    diagnostics += "decode_file_tids: syntax error at line \(lineNumber + 1), pos \(leading + span + 1)\n"
                    return false
                }
                var position = 0
                var k = 0
                while k < 1024 {
                    let rest = Array(text[min(position, text.count)...])
                    guard let value = CScan.scanHex32(rest) else {
                        if rest.first == UInt8(ascii: "#") { break }
                        diagnostics += "decode_file_tids: error in line \(lineNumber + 1), at pos \(start + leading + position + 1)\n"
                        return false
                    }
                    if value > 0xFF {
                        diagnostics += "decode_file_tids: hex number larger than 0xff in line \(lineNumber + 1), pos \(start + leading + position + 1)\n"
                        return false
                    }
                    if splitLine, rest.count == 1 { carryOver = rest[0] }
                    if offset + k >= array.count {
                        diagnostics += "decode_file_tids: array length exceeded\n"
                        return false
                    }
                    array[offset + k] = UInt8(value)
                    guard let separator = rest.firstIndex(where: { $0 == 0x20 || $0 == 0x2C || $0 == 0x09 }) else { break }
                    var next = separator
                    while next < rest.count, rest[next] == 0x20 || rest[next] == 0x2C || rest[next] == 0x09 { next += 1 }
                    position += next
                    if next >= rest.count { break }
                    k += 1
                }
            }
            offset += PersistTransportIDs.slotLength
            if offset >= array.count {
                diagnostics += "decode_file_tids: array length exceeded\n"
                return false
            }
            number += 1
        }
        count = number
        return true
    }

    /// `decode_sym_transportid()`: the symbolic forms. Zeroes the first 24 bytes of the slot at `slot`, then
    /// writes the TransportID there. `memory` is the argument followed by whatever follows it in memory.
    static func decodeSymbolic(_ text: [UInt8], memory: [UInt8], into array: inout [UInt8], at slot: Int,
                               diagnostics: inout String) -> Bool {
        guard slot >= 0, slot + slotLength <= array.count else { return false }
        for index in slot..<(slot + 24) { array[index] = 0 }
        let prefix = Array(text.prefix(4))
        func isPrefix(_ lower: String) -> Bool {
            prefix == Array(lower.utf8) || prefix == Array(lower.uppercased().utf8)
        }
        let rest = Array(text.dropFirst(4))
        let restText = String(decoding: rest, as: UTF8.self)
        func hexNibbles(count digits: Int, at destination: Int) {
            // sg_persist converts characters without checking them past the 16 it validated.
            var high: Int32 = 0
            var j = 0
            for k in 0..<digits {
                let index = 4 + k
                let c = Int32(Int8(bitPattern: index < memory.count ? memory[index] : 0))
                let n: Int32
                if c >= 0x30, c <= 0x39 { n = c - 0x30 } else if c >= 0x41, c <= 0x5A { n = c - 0x37 } else { n = c &- 0x57 }
                if k & 1 == 1 {
                    if destination + j < slot + slotLength { array[destination + j] = UInt8(truncatingIfNeeded: high | n) }
                    j += 1
                } else {
                    high = n &<< 4
                }
            }
        }
        let hexRun = rest.prefix { CScan.isHexDigit($0) }.count
        if isPrefix("sas,") {
            guard hexRun == 16 else {
                diagnostics += "badly formed symbolic SAS TransportID: \(restText)\n"
                return false
            }
            array[slot] = 0x06
            hexNibbles(count: 16, at: slot + 4)
            return true
        }
        if isPrefix("spi,") {
            guard let (first, end) = CScan.scanDecimal32(rest), end < rest.count, rest[end] == UInt8(ascii: ","),
                  let (second, _) = CScan.scanDecimal32(rest, from: end + 1) else {
                diagnostics += "badly formed symbolic SPI TransportID: \(restText)\n"
                return false
            }
            array[slot] = 0x01
            array[slot + 2] = UInt8(truncatingIfNeeded: first >> 8)
            array[slot + 3] = UInt8(truncatingIfNeeded: first)
            array[slot + 6] = UInt8(truncatingIfNeeded: second >> 8)
            array[slot + 7] = UInt8(truncatingIfNeeded: second)
            return true
        }
        if isPrefix("fcp,") {
            guard hexRun == 16 else {
                diagnostics += "badly formed symbolic FCP TransportID: \(restText)\n"
                return false
            }
            array[slot] = 0x00
            hexNibbles(count: 16, at: slot + 8)
            return true
        }
        if isPrefix("sbp,") {
            guard hexRun == 16 else {
                diagnostics += "badly formed symbolic SBP TransportID: \(restText)\n"
                return false
            }
            array[slot] = 0x03
            hexNibbles(count: 16, at: slot + 8)
            return true
        }
        if isPrefix("srp,") {
            guard hexRun == 16 else {
                diagnostics += "badly formed symbolic SRP TransportID: \(restText)\n"
                return false
            }
            array[slot] = 0x04
            hexNibbles(count: 32, at: slot + 8)
            return true
        }
        if prefix == Array("iqn.".utf8) {
            let end = text.firstIndex { $0 == 0x20 || $0 == 0x09 }
            let marker = Array(",i,0x".utf8)
            var sessionAt: Int?
            if text.count >= marker.count {
                for index in 0...(text.count - marker.count) where Array(text[index..<(index + marker.count)]) == marker {
                    sessionAt = index
                    break
                }
            }
            if let e = end, let s = sessionAt, s > e { sessionAt = nil }
            let length = end ?? text.count
            array[slot] = 0x05 | (sessionAt != nil ? 0x40 : 0)
            var allocated = length + 1
            if allocated < 20 {
                allocated = 20
            } else if allocated % 4 != 0 {
                allocated = (allocated / 4 + 1) * 4
            }
            if allocated > 241 {
                diagnostics += "iSCSI name too long, alen=\(allocated)\n"
                return false
            }
            array[slot + 3] = UInt8(truncatingIfNeeded: allocated)
            for index in 0..<length { array[slot + 4 + index] = text[index] }
            return true
        }
        if isPrefix("sop,") {
            // sg_persist asks sscanf for two conversions of a one-conversion format: this form never parses.
            diagnostics += "badly formed symbolic SOP TransportID: \(restText)\n"
            return false
        }
        diagnostics += "unable to parse symbolic TransportID: \(String(decoding: text, as: UTF8.self))\n"
        return false
    }

    /// `compact_transportid_array()`: the TransportIDs as sent, each slot cut to its length (iSCSI: 4 +
    /// ADDITIONAL LENGTH, at least 24; others 24), moved in place as sg_persist does.
    func compacted() -> [UInt8] {
        var bytes = array
        var compactLength = 0
        var k = 0
        while k < count, k < PersistTransportIDs.slotCount {
            let offset = k * PersistTransportIDs.slotLength
            let protocolIdentifier = bytes[offset] & 0x0F
            var length = 24
            if protocolIdentifier == TransportID.ProtocolIdentifier.iscsi {
                length = Int(bytes.bigEndianInteger(at: offset + 2, as: UInt16.self) ?? 0) + 4
                if length < 24 { length = 24 }
            }
            // Memory past the array reads as zeros here (sg_persist would read past its array).
            let needed = max(offset, compactLength) + length
            if bytes.count < needed { bytes += [UInt8](repeating: 0, count: needed - bytes.count) }
            if offset > compactLength {
                let moved = Array(bytes[offset..<(offset + length)])
                bytes.replaceSubrange(compactLength..<(compactLength + length), with: moved)
            }
            compactLength += length
            k += 1
        }
        if bytes.count < compactLength { bytes += [UInt8](repeating: 0, count: compactLength - bytes.count) }
        return Array(bytes[0..<compactLength])
    }

    /// The slot `index` (for the verbose decode sg_persist prints).
    func slot(_ index: Int) -> [UInt8] {
        let start = index * PersistTransportIDs.slotLength
        guard start >= 0, start + PersistTransportIDs.slotLength <= array.count else { return [] }
        return Array(array[start..<(start + PersistTransportIDs.slotLength)])
    }
}
