/// TransportID: the identity of an initiator port (`docs/pr-rules.md` §4.6).
///
/// | Protocol (byte 0 bits 3–0) | Layout |
/// |---|---|
/// | iSCSI 5h, FORMAT CODE 00b (byte 0 = 05h) | byte 1 reserved; bytes 2–3 ADDITIONAL LENGTH (≥ 20, multiple of 4); bytes 4.. iSCSI name, NUL-terminated and NUL-padded |
/// | iSCSI 5h, FORMAT CODE 01b (byte 0 = 45h) | bytes 4..: iSCSI name + `",i,0x"` + 12 hex ISID digits + NUL, NUL-padded to a multiple of 4 |
/// | FC 0h | 24 bytes; N_PORT_NAME in bytes 8–15 |
/// | SAS 6h | 24 bytes; SAS address in bytes 4–11 |
/// | SRP 4h | 24 bytes; port identifier in bytes 8–23 |
/// | SBP 3h | 24 bytes; EUI-64 in bytes 8–15 |
///
/// Total iSCSI length = ADDITIONAL LENGTH + 4. Example (`iqn.1994-05.com.redhat:a`, ISID 400001370000):
/// format 00b is `05 00 00 1C` + 24 name bytes + 4 NULs (32 bytes); format 01b is `45 00 00 2C` + the 41 characters
/// `iqn.1994-05.com.redhat:a,i,0x400001370000` + 3 NULs (48 bytes).
public struct TransportID: Hashable, Sendable, CustomStringConvertible {
    /// The encoded TransportID, exactly as sent or received.
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// PROTOCOL IDENTIFIER codes (SPC-4 table "PROTOCOL IDENTIFIER values").
    public enum ProtocolIdentifier {
        public static let fibreChannel: UInt8 = 0x0
        public static let sbp: UInt8 = 0x3
        public static let srp: UInt8 = 0x4
        public static let iscsi: UInt8 = 0x5
        public static let sas: UInt8 = 0x6
    }

    /// iSCSI initiator port, FORMAT CODE 01b: `name,i,0x<ISID>` (the form the engine uses for every nexus).
    /// `isid` is the 48-bit ISID; it is written as 12 lower-case hex digits.
    public static func iscsi(name: String, isid: UInt64) -> TransportID {
        var hex = String(isid & 0xFFFF_FFFF_FFFF, radix: 16)
        hex = String(repeating: "0", count: 12 - hex.count) + hex
        return iscsiPadded(formatByte: 0x45, text: Array((name + ",i,0x" + hex).utf8), minimumAdditionalLength: 0)
    }

    /// iSCSI initiator device, FORMAT CODE 00b: the name alone (ADDITIONAL LENGTH at least 20).
    public static func iscsi(name: String) -> TransportID {
        iscsiPadded(formatByte: 0x05, text: Array(name.utf8), minimumAdditionalLength: 20)
    }

    /// Fibre Channel: N_PORT_NAME in bytes 8–15.
    public static func fibreChannel(portName: UInt64) -> TransportID {
        fixed24(protocolByte: ProtocolIdentifier.fibreChannel, at: 8, value: portName)
    }

    /// SAS: SAS ADDRESS in bytes 4–11.
    public static func sas(address: UInt64) -> TransportID {
        fixed24(protocolByte: ProtocolIdentifier.sas, at: 4, value: address)
    }

    private static func fixed24(protocolByte: UInt8, at offset: Int, value: UInt64) -> TransportID {
        var bytes = [UInt8](repeating: 0, count: 24)
        bytes[0] = protocolByte
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * index)) }
        return TransportID(bytes: bytes)
    }

    private static func iscsiPadded(formatByte: UInt8, text: [UInt8], minimumAdditionalLength: Int) -> TransportID {
        var body = text + [0]
        while body.count % 4 != 0 || body.count < minimumAdditionalLength { body.append(0) }
        var writer = ByteWriter(capacity: 4 + body.count)
        writer.writeInteger(formatByte)
        writer.writeInteger(UInt8(0))
        writer.writeInteger(UInt16(truncatingIfNeeded: body.count))
        writer.writeBytes(body)
        return TransportID(bytes: writer.bytes)
    }

    /// Byte 0 bits 3–0.
    public var protocolIdentifier: UInt8 { (bytes.first ?? 0) & 0x0F }
    /// Byte 0 bits 7–6.
    public var formatCode: UInt8 { (bytes.first ?? 0) >> 6 }

    /// The length the TransportID at the start of `bytes` claims: 4 + ADDITIONAL LENGTH for iSCSI, 24 otherwise.
    /// `nil` when even that header is missing. The caller checks that many bytes are present.
    public static func encodedLength(atStartOf bytes: [UInt8]) -> Int? {
        guard let first = bytes.first else { return nil }
        if first & 0x0F == ProtocolIdentifier.iscsi {
            guard let additional = bytes.bigEndianInteger(at: 2, as: UInt16.self) else { return nil }
            return 4 + Int(additional)
        }
        return 24
    }

    /// The TransportID at the start of `bytes`, or `nil` if the bytes are shorter than it claims.
    public static func decode(atStartOf bytes: [UInt8]) -> TransportID? {
        guard let length = encodedLength(atStartOf: bytes), length <= bytes.count, length >= 4 else { return nil }
        return TransportID(bytes: Array(bytes.prefix(length)))
    }

    /// What a TransportID names, for printing and comparison.
    public enum Decoded: Hashable, Sendable {
        /// iSCSI format 00b: an initiator device name.
        case iscsiName(String)
        /// iSCSI format 01b: initiator port = name + ISID (hex text as sent).
        case iscsiPort(name: String, isid: String)
        /// Fibre Channel N_PORT_NAME (WWPN).
        case fibreChannel(wwn: UInt64)
        /// SAS address.
        case sas(address: UInt64)
        /// SRP initiator port identifier (16 bytes).
        case srp(portIdentifier: [UInt8])
        /// IEEE 1394 EUI-64.
        case sbp(eui64: UInt64)
        /// Anything else, or a malformed TransportID.
        case unknown(protocolIdentifier: UInt8, formatCode: UInt8)
    }

    /// The decoded form; malformed input decodes as `.unknown`.
    public var decoded: Decoded {
        let unknown = Decoded.unknown(protocolIdentifier: protocolIdentifier, formatCode: formatCode)
        switch protocolIdentifier {
        case ProtocolIdentifier.iscsi:
            guard let additional = bytes.bigEndianInteger(at: 2, as: UInt16.self) else { return unknown }
            let end = min(bytes.count, 4 + Int(additional))
            guard end > 4 else { return unknown }
            let text = Array(bytes[4..<end].prefix { $0 != 0 })
            switch formatCode {
            case 0: return .iscsiName(String(decoding: text, as: UTF8.self))
            case 1:
                // ",i,0x" separates name and ISID; search from the end so a name containing it still works.
                guard let separator = TransportID.lastISIDSeparator(in: text) else { return unknown }
                return .iscsiPort(name: String(decoding: text[..<separator], as: UTF8.self),
                                  isid: String(decoding: text[(separator + 5)...], as: UTF8.self))
            default: return unknown
            }
        case ProtocolIdentifier.fibreChannel:
            guard bytes.count >= 24, let wwn = bytes.bigEndianInteger(at: 8, as: UInt64.self) else { return unknown }
            return .fibreChannel(wwn: wwn)
        case ProtocolIdentifier.sas:
            guard bytes.count >= 24, let address = bytes.bigEndianInteger(at: 4, as: UInt64.self) else { return unknown }
            return .sas(address: address)
        case ProtocolIdentifier.srp:
            guard bytes.count >= 24 else { return unknown }
            return .srp(portIdentifier: Array(bytes[8..<24]))
        case ProtocolIdentifier.sbp:
            guard bytes.count >= 24, let eui = bytes.bigEndianInteger(at: 8, as: UInt64.self) else { return unknown }
            return .sbp(eui64: eui)
        default:
            return unknown
        }
    }

    /// The same port in a canonical encoding: iSCSI names and ISIDs lower-cased and re-padded (LIO lower-cases
    /// the ISID, SCST compares names case-insensitively, §4.6); other protocols cut to their 24 bytes.
    /// The engine compares nexuses in this form.
    public var normalized: TransportID {
        switch decoded {
        case .iscsiName(let name):
            return TransportID.iscsiPadded(formatByte: 0x05, text: Array(name.lowercased().utf8), minimumAdditionalLength: 20)
        case .iscsiPort(let name, let isid):
            return TransportID.iscsiPadded(formatByte: 0x45, text: Array((name.lowercased() + ",i,0x" + isid.lowercased()).utf8),
                                           minimumAdditionalLength: 0)
        case .fibreChannel, .sas, .srp, .sbp:
            return TransportID(bytes: Array(bytes.prefix(24)))
        case .unknown:
            return self
        }
    }

    /// Human-readable: `iqn.1994-05.com.redhat:a,i,0x400001370000`, `0x5000c50012345678` (SAS), ...
    public var description: String {
        switch decoded {
        case .iscsiName(let name): return name
        case .iscsiPort(let name, let isid): return "\(name),i,0x\(isid)"
        case .fibreChannel(let wwn): return "0x" + TransportID.hex16(wwn)
        case .sas(let address): return "0x" + TransportID.hex16(address)
        case .sbp(let eui): return "0x" + TransportID.hex16(eui)
        case .srp(let identifier): return "0x" + identifier.map { Hex.twoDigits($0) }.joined()
        case .unknown: return bytes.map { Hex.twoDigits($0) }.joined(separator: " ")
        }
    }

    /// An initiator port as an admin writes it (`initiator_ports=`, the simulated LU's `initiator=`):
    /// `NAME,i,0xISID` (iSCSI port, 1 to 12 hex digits), `fcp,HEX16` (Fibre Channel N_Port name), `sas,HEX16`
    /// (SAS address); hex digits in either case, an optional `0x` before HEX16. nil for anything else, a NAME
    /// with a comma included (iSCSI names have none: `a,i,0x1,b,i,0x2` is two ports written as one).
    public static func parse(port text: String) -> TransportID? {
        let bytes = Array(text.utf8)
        func hex16(_ digits: ArraySlice<UInt8>) -> UInt64? {
            var d = digits
            if d.count > 2, d.first == UInt8(ascii: "0"), let x = d.dropFirst().first, x | 0x20 == UInt8(ascii: "x") { d = d.dropFirst(2) }
            return Hex.value(d, maxDigits: 16)
        }
        let head = Array(bytes.prefix(4).map { $0 | 0x20 })
        if head == Array("fcp,".utf8), let wwn = hex16(bytes.dropFirst(4)) { return .fibreChannel(portName: wwn) }
        if head == Array("sas,".utf8), let address = hex16(bytes.dropFirst(4)) { return .sas(address: address) }
        guard let separator = lastISIDSeparator(in: bytes), separator > 0,
              let isid = Hex.value(bytes[(separator + 5)...], maxDigits: 12),
              !bytes[..<separator].contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: ",") }) else { return nil }
        return .iscsi(name: String(decoding: bytes[..<separator], as: UTF8.self), isid: isid)
    }

    /// Index of the last `,i,0x` (either case of `i` and `x`) in `text`.
    private static func lastISIDSeparator(in text: [UInt8]) -> Int? {
        guard text.count >= 5 else { return nil }
        for start in stride(from: text.count - 5, through: 0, by: -1) {
            if text[start] == UInt8(ascii: ","), text[start + 1] | 0x20 == UInt8(ascii: "i"), text[start + 2] == UInt8(ascii: ","),
               text[start + 3] == UInt8(ascii: "0"), text[start + 4] | 0x20 == UInt8(ascii: "x") {
                return start
            }
        }
        return nil
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
