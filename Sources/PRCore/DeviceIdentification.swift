/// The VPD pages that say which logical unit a path reaches and through which target port: Device
/// Identification (83h) and Unit Serial Number (80h), SPC-4 §7.8.6 and SPC-4 §7.8.18. Every path to one LU shows
/// the same LU designators (so paths are grouped by them), and its own RELATIVE TARGET PORT IDENTIFIER, the
/// half of the I_T nexus READ FULL STATUS names besides the initiator's TransportID.
///
/// Device Identification VPD page:
///
/// | Byte | Field |
/// |---|---|
/// | 0 | bits 7–5 PERIPHERAL QUALIFIER, bits 4–0 PERIPHERAL DEVICE TYPE |
/// | 1 | PAGE CODE (83h) |
/// | 2–3 | PAGE LENGTH (n − 3) |
/// | 4–n | designation descriptors |
///
/// Designation descriptor:
///
/// | Byte | Field |
/// |---|---|
/// | 0 | bits 7–4 PROTOCOL IDENTIFIER, bits 3–0 CODE SET |
/// | 1 | bit 7 PIV, bits 5–4 ASSOCIATION, bits 3–0 DESIGNATOR TYPE |
/// | 2 | reserved |
/// | 3 | DESIGNATOR LENGTH (m − 3) |
/// | 4–m | DESIGNATOR |
///
/// Relative target port designator (type 4h, association target port): bytes 0–1 obsolete, bytes 2–3
/// RELATIVE TARGET PORT IDENTIFIER. Target port group (type 5h): bytes 2–3 TARGET PORT GROUP.
///
/// Unit Serial Number VPD page: byte 1 PAGE CODE (80h), bytes 2–3 PAGE LENGTH, bytes 4.. PRODUCT SERIAL
/// NUMBER (ASCII, often space-padded).
public struct DeviceIdentificationPage: Hashable, Sendable {
    /// PAGE CODE of this page.
    public static let pageCode: UInt8 = 0x83

    public var peripheralQualifier: UInt8
    public var peripheralDeviceType: PeripheralDeviceType
    public var designators: [Designator]
    /// The PAGE LENGTH the device claimed (on decode; `encode` writes the real one).
    public var pageLength: UInt16
    /// True when the bytes ended before PAGE LENGTH, or inside a designation descriptor (which is dropped).
    public var isTruncated: Bool

    public init(peripheralQualifier: UInt8 = 0, peripheralDeviceType: PeripheralDeviceType, designators: [Designator]) {
        self.peripheralQualifier = peripheralQualifier
        self.peripheralDeviceType = peripheralDeviceType
        self.designators = designators
        self.pageLength = UInt16(truncatingIfNeeded: designators.reduce(0) { $0 + 4 + min($1.designator.count, 255) })
        self.isTruncated = false
    }

    /// One designation descriptor.
    public struct Designator: Hashable, Sendable {
        /// PROTOCOL IDENTIFIER (meaningful only with PIV set and a target port or target device association).
        public var protocolIdentifier: UInt8
        public var codeSet: CodeSet
        /// PIV: `protocolIdentifier` is valid.
        public var protocolIdentifierValid: Bool
        public var association: Association
        public var designatorType: DesignatorType
        /// DESIGNATOR, as sent.
        public var designator: [UInt8]

        public init(protocolIdentifier: UInt8 = 0, codeSet: CodeSet, protocolIdentifierValid: Bool = false,
                    association: Association, designatorType: DesignatorType, designator: [UInt8]) {
            self.protocolIdentifier = protocolIdentifier
            self.codeSet = codeSet
            self.protocolIdentifierValid = protocolIdentifierValid
            self.association = association
            self.designatorType = designatorType
            self.designator = designator
        }

        /// The 4-byte header and the designator (cut to 255 bytes, the most DESIGNATOR LENGTH can say).
        public func encode() -> [UInt8] {
            let body = Array(designator.prefix(255))
            return [(protocolIdentifier & 0x0F) << 4 | (codeSet.rawValue & 0x0F),
                    (protocolIdentifierValid ? 0x80 : 0) | (association.rawValue & 0x03) << 4 | (designatorType.rawValue & 0x0F),
                    0, UInt8(body.count)] + body
        }

        /// The 2-byte value in bytes 2–3 (relative target port, target port group, logical unit group).
        var twoByteValue: UInt16? { designator.count >= 4 ? designator.bigEndianInteger(at: 2, as: UInt16.self) : nil }
    }

    /// CODE SET (SPC-4 table "CODE SET field").
    public struct CodeSet: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// 1h: the designator is binary.
        public static let binary = CodeSet(rawValue: 1)
        /// 2h: printable ASCII.
        public static let ascii = CodeSet(rawValue: 2)
        /// 3h: UTF-8 (the SCSI name string).
        public static let utf8 = CodeSet(rawValue: 3)
    }

    /// ASSOCIATION: what the designator names.
    public struct Association: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// 00b: the logical unit (the same through every path).
        public static let logicalUnit = Association(rawValue: 0)
        /// 01b: the target port the INQUIRY went through.
        public static let targetPort = Association(rawValue: 1)
        /// 10b: the SCSI target device holding the logical unit.
        public static let targetDevice = Association(rawValue: 2)
    }

    /// DESIGNATOR TYPE (SPC-4 table "DESIGNATOR TYPE field"; UUID from SPC-5).
    public struct DesignatorType: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// 0h: vendor specific.
        public static let vendorSpecific = DesignatorType(rawValue: 0x0)
        /// 1h: T10 vendor ID based (8-byte T10 VENDOR IDENTIFICATION + vendor specific).
        public static let t10VendorID = DesignatorType(rawValue: 0x1)
        /// 2h: EUI-64 based (8, 12 or 16 bytes).
        public static let eui64 = DesignatorType(rawValue: 0x2)
        /// 3h: NAA (8 or 16 bytes): the world-wide name disks and tape drives carry.
        public static let naa = DesignatorType(rawValue: 0x3)
        /// 4h: relative target port identifier.
        public static let relativeTargetPort = DesignatorType(rawValue: 0x4)
        /// 5h: target port group (ALUA).
        public static let targetPortGroup = DesignatorType(rawValue: 0x5)
        /// 6h: logical unit group.
        public static let logicalUnitGroup = DesignatorType(rawValue: 0x6)
        /// 7h: MD5 logical unit identifier.
        public static let md5LogicalUnitIdentifier = DesignatorType(rawValue: 0x7)
        /// 8h: SCSI name string (UTF-8, "iqn.…", "eui.…", "naa.…", NUL-terminated).
        public static let scsiNameString = DesignatorType(rawValue: 0x8)
        /// 9h: protocol specific port identifier.
        public static let protocolSpecificPortIdentifier = DesignatorType(rawValue: 0x9)
        /// Ah: UUID identifier (SPC-5).
        public static let uuidIdentifier = DesignatorType(rawValue: 0xA)
    }

    /// The whole page; PAGE LENGTH is the length of the descriptors written.
    public func encode() -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInteger((peripheralQualifier & 0x07) << 5 | (peripheralDeviceType.rawValue & 0x1F))
        writer.writeInteger(Self.pageCode)
        let body = designators.flatMap { $0.encode() }
        writer.writeInteger(UInt16(truncatingIfNeeded: body.count))
        writer.writeBytes(body)
        return writer.bytes
    }

    /// The page, or nil without a 4-byte header with PAGE CODE 83h. Descriptors past PAGE LENGTH or past the
    /// end of `bytes` are not read; one cut short is dropped and the page says `isTruncated`.
    public static func decode(_ bytes: [UInt8]) -> DeviceIdentificationPage? {
        var reader = ByteReader(bytes)
        guard let first = reader.readInteger(as: UInt8.self), let code = reader.readInteger(as: UInt8.self),
              code == pageCode, let length = reader.readInteger(as: UInt16.self) else { return nil }
        let end = 4 + Int(length)
        var page = DeviceIdentificationPage(peripheralQualifier: first >> 5,
                                            peripheralDeviceType: PeripheralDeviceType(rawValue: first & 0x1F), designators: [])
        page.pageLength = length
        page.isTruncated = end > bytes.count
        var list = ByteReader(Array(bytes[4..<min(end, bytes.count)]))
        while !list.isAtEnd {
            guard let b0 = list.readInteger(as: UInt8.self), let b1 = list.readInteger(as: UInt8.self),
                  list.skip(1), let count = list.readInteger(as: UInt8.self),
                  let designator = list.readBytes(Int(count)) else {
                page.isTruncated = true
                break
            }
            page.designators.append(Designator(protocolIdentifier: b0 >> 4, codeSet: CodeSet(rawValue: b0 & 0x0F),
                                               protocolIdentifierValid: b1 & 0x80 != 0,
                                               association: Association(rawValue: (b1 >> 4) & 0x03),
                                               designatorType: DesignatorType(rawValue: b1 & 0x0F), designator: designator))
        }
        return page
    }

    /// The logical unit's name: the first LU-associated designator of the most preferred type (NAA, EUI-64,
    /// SCSI name string, T10 vendor ID), as Linux's `wwid` attribute spells it. Nil when there is none.
    public var logicalUnitIdentity: LogicalUnitIdentity? {
        let order: [(DesignatorType, LogicalUnitIdentity.Source)] = [
            (.naa, .naa), (.eui64, .eui64), (.scsiNameString, .scsiNameString), (.t10VendorID, .t10VendorID),
        ]
        for (type, source) in order {
            for d in designators where d.association == .logicalUnit && d.designatorType == type && !d.designator.isEmpty {
                if let identity = LogicalUnitIdentity(source: source, designator: d.designator) { return identity }
            }
        }
        return nil
    }

    /// RELATIVE TARGET PORT IDENTIFIER of the port this page came through (designator type 4h, association
    /// target port); nil when the device does not report one.
    public var relativeTargetPortIdentifier: UInt16? {
        designators.first { $0.association == .targetPort && $0.designatorType == .relativeTargetPort && $0.designator.count >= 4 }?
            .twoByteValue
    }

    /// TARGET PORT GROUP of that port (designator type 5h), for ALUA; nil when not reported.
    public var targetPortGroup: UInt16? {
        designators.first { $0.association == .targetPort && $0.designatorType == .targetPortGroup && $0.designator.count >= 4 }?
            .twoByteValue
    }
}

/// Unit Serial Number VPD page (80h): the identity of last resort, for a device without page 83h LU
/// designators. The serial number is unique only within one vendor's product, so the identity made from
/// it carries vendor and product as well.
public struct UnitSerialNumberPage: Hashable, Sendable {
    public static let pageCode: UInt8 = 0x80

    public var peripheralQualifier: UInt8
    public var peripheralDeviceType: PeripheralDeviceType
    /// PRODUCT SERIAL NUMBER, leading and trailing blanks and NULs removed.
    public var productSerialNumber: String
    /// True when the bytes ended before PAGE LENGTH.
    public var isTruncated: Bool

    public init(peripheralQualifier: UInt8 = 0, peripheralDeviceType: PeripheralDeviceType, productSerialNumber: String) {
        self.peripheralQualifier = peripheralQualifier
        self.peripheralDeviceType = peripheralDeviceType
        self.productSerialNumber = productSerialNumber
        self.isTruncated = false
    }

    public func encode() -> [UInt8] {
        let serial = Array(productSerialNumber.utf8.prefix(0xFFFF))
        var writer = ByteWriter(capacity: 4 + serial.count)
        writer.writeInteger((peripheralQualifier & 0x07) << 5 | (peripheralDeviceType.rawValue & 0x1F))
        writer.writeInteger(Self.pageCode)
        writer.writeInteger(UInt16(serial.count))
        writer.writeBytes(serial)
        return writer.bytes
    }

    /// The page, or nil without a 4-byte header with PAGE CODE 80h.
    public static func decode(_ bytes: [UInt8]) -> UnitSerialNumberPage? {
        var reader = ByteReader(bytes)
        guard let first = reader.readInteger(as: UInt8.self), let code = reader.readInteger(as: UInt8.self),
              code == pageCode, let length = reader.readInteger(as: UInt16.self) else { return nil }
        let present = reader.readBytes(min(Int(length), reader.remaining)) ?? []
        var page = UnitSerialNumberPage(peripheralQualifier: first >> 5, peripheralDeviceType: PeripheralDeviceType(rawValue: first & 0x1F),
                                        productSerialNumber: LogicalUnitIdentity.printable(present))
        page.isTruncated = present.count < Int(length)
        return page
    }

    /// "serial.VENDOR.PRODUCT.SERIAL" (blanks inside kept); nil for an empty serial number.
    public func logicalUnitIdentity(vendor: String, product: String) -> LogicalUnitIdentity? {
        guard !productSerialNumber.isEmpty else { return nil }
        let v = LogicalUnitIdentity.printable(Array(vendor.utf8))
        let p = LogicalUnitIdentity.printable(Array(product.utf8))
        return LogicalUnitIdentity(source: .unitSerialNumber, text: "serial.\(v).\(p).\(productSerialNumber)")
    }
}

/// A stable name of one logical unit, equal through every path to it: `naa.6001405…` (hex, lower case),
/// `eui.…`, the SCSI name string as sent (`iqn.…`), `t10.VENDOR…`, or `serial.VENDOR.PRODUCT.SERIAL`.
public struct LogicalUnitIdentity: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Which designator it was made from.
    public enum Source: String, Hashable, Sendable {
        case naa, eui64, scsiNameString, t10VendorID, unitSerialNumber
    }

    public var source: Source
    public var text: String

    public init(source: Source, text: String) {
        self.source = source
        self.text = text
    }

    /// From an LU designator's bytes; nil when they make no text (a SCSI name string of NULs).
    init?(source: Source, designator: [UInt8]) {
        switch source {
        case .naa: text = "naa." + designator.map { Hex.twoDigits($0) }.joined()
        case .eui64: text = "eui." + designator.map { Hex.twoDigits($0) }.joined()
        case .scsiNameString:
            let name = designator.prefix { $0 != 0 }
            guard !name.isEmpty else { return nil }
            text = String(decoding: name, as: UTF8.self)
        case .t10VendorID:
            let printable = Self.printable(designator)
            guard !printable.isEmpty else { return nil }
            text = "t10." + printable
        case .unitSerialNumber:
            return nil
        }
        self.source = source
    }

    public var description: String { text }

    public static func < (a: LogicalUnitIdentity, b: LogicalUnitIdentity) -> Bool {
        Array(a.text.utf8).lexicographicallyPrecedes(Array(b.text.utf8))
    }

    /// ASCII text of a designator: NULs and blanks trimmed at both ends, other bytes outside 20h–7Eh as '?'
    /// (so the name prints on one line and compares byte for byte).
    static func printable(_ bytes: [UInt8]) -> String {
        var slice = bytes[...]
        while let first = slice.first, first == 0 || first == 0x20 { slice.removeFirst() }
        while let last = slice.last, last == 0 || last == 0x20 { slice.removeLast() }
        return String(decoding: slice.map { (0x20...0x7E).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }
}
