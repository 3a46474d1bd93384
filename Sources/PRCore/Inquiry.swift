/// INQUIRY (12h): the CDB and standard INQUIRY data, enough to identify the device a lock is taken on.
///
/// CDB (6 bytes): byte 0 = 12h; byte 1 bit 0 EVPD; byte 2 PAGE CODE; bytes 3–4 ALLOCATION LENGTH; byte 5 CONTROL.
///
/// Standard INQUIRY data (SPC-4 table "Standard INQUIRY data format"):
///
/// | Byte | Field |
/// |---|---|
/// | 0 | bits 7–5 PERIPHERAL QUALIFIER, bits 4–0 PERIPHERAL DEVICE TYPE |
/// | 1 | bit 7 RMB |
/// | 2 | VERSION |
/// | 3 | bits 3–0 RESPONSE DATA FORMAT (2) |
/// | 4 | ADDITIONAL LENGTH (n − 4; 31 for 36 bytes) |
/// | 8–15 | T10 VENDOR IDENTIFICATION (ASCII, space-padded) |
/// | 16–31 | PRODUCT IDENTIFICATION |
/// | 32–35 | PRODUCT REVISION LEVEL |
public enum Inquiry {
    /// The INQUIRY CDB.
    public struct CDB: Hashable, Sendable {
        public var evpd: Bool
        public var pageCode: UInt8
        public var allocationLength: UInt16
        public var control: UInt8

        public init(evpd: Bool = false, pageCode: UInt8 = 0, allocationLength: UInt16 = 96, control: UInt8 = 0) {
            self.evpd = evpd
            self.pageCode = pageCode
            self.allocationLength = allocationLength
            self.control = control
        }

        public func encode() -> [UInt8] {
            [OperationCode.inquiry.rawValue, evpd ? 1 : 0, pageCode,
             UInt8(allocationLength >> 8), UInt8(truncatingIfNeeded: allocationLength), control]
        }

        public static func decode(_ bytes: [UInt8]) -> CDB? {
            guard bytes.count >= 6, bytes[0] == OperationCode.inquiry.rawValue,
                  let length = bytes.bigEndianInteger(at: 3, as: UInt16.self) else { return nil }
            return CDB(evpd: bytes[1] & 0x01 != 0, pageCode: bytes[2], allocationLength: length, control: bytes[5])
        }
    }
}

/// Standard INQUIRY data (EVPD = 0).
public struct StandardInquiryData: Hashable, Sendable {
    public var peripheralQualifier: UInt8
    public var peripheralDeviceType: PeripheralDeviceType
    public var removable: Bool
    /// VERSION (06h = SPC-4).
    public var version: UInt8
    public var responseDataFormat: UInt8
    /// T10 vendor, trailing spaces removed on decode.
    public var vendor: String
    public var product: String
    public var revision: String

    public init(peripheralQualifier: UInt8 = 0, peripheralDeviceType: PeripheralDeviceType, removable: Bool = false,
                version: UInt8 = 0x06, responseDataFormat: UInt8 = 2, vendor: String, product: String, revision: String) {
        self.peripheralQualifier = peripheralQualifier
        self.peripheralDeviceType = peripheralDeviceType
        self.removable = removable
        self.version = version
        self.responseDataFormat = responseDataFormat
        self.vendor = vendor
        self.product = product
        self.revision = revision
    }

    /// 36 bytes; strings are ASCII, space-padded or cut to 8/16/4 bytes.
    public func encode() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 36)
        bytes[0] = (peripheralQualifier & 0x07) << 5 | (peripheralDeviceType.rawValue & 0x1F)
        bytes[1] = removable ? 0x80 : 0
        bytes[2] = version
        bytes[3] = responseDataFormat & 0x0F
        bytes[4] = 31
        bytes.replaceSubrange(8..<16, with: StandardInquiryData.field(vendor, width: 8))
        bytes.replaceSubrange(16..<32, with: StandardInquiryData.field(product, width: 16))
        bytes.replaceSubrange(32..<36, with: StandardInquiryData.field(revision, width: 4))
        return bytes
    }

    /// Decodes what is present: at least byte 0; missing strings decode as empty. `nil` only for no bytes.
    public static func decode(_ bytes: [UInt8]) -> StandardInquiryData? {
        guard let first = bytes.first else { return nil }
        return StandardInquiryData(
            peripheralQualifier: first >> 5,
            peripheralDeviceType: PeripheralDeviceType(rawValue: first & 0x1F),
            removable: (bytes.byte(at: 1) ?? 0) & 0x80 != 0,
            version: bytes.byte(at: 2) ?? 0,
            responseDataFormat: (bytes.byte(at: 3) ?? 0) & 0x0F,
            vendor: text(bytes, 8, 16), product: text(bytes, 16, 32), revision: text(bytes, 32, 36))
    }

    private static func field(_ string: String, width: Int) -> [UInt8] {
        // Non-ASCII would break the fixed-width ASCII field; replace it.
        let ascii = string.utf8.prefix(width).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        return ascii + [UInt8](repeating: 0x20, count: width - ascii.count)
    }

    private static func text(_ bytes: [UInt8], _ start: Int, _ end: Int) -> String {
        guard bytes.count > start else { return "" }
        var slice = Array(bytes[start..<min(end, bytes.count)])
        while let last = slice.last, last == 0x20 || last == 0 { slice.removeLast() }
        return String(decoding: slice, as: UTF8.self)
    }
}

/// PERIPHERAL DEVICE TYPE (INQUIRY byte 0 bits 4–0).
public struct PeripheralDeviceType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Direct access block device (SBC), 00h.
    public static let disk = PeripheralDeviceType(rawValue: 0x00)
    /// Sequential-access device (SSC), 01h: the tape drives this tool locks.
    public static let tape = PeripheralDeviceType(rawValue: 0x01)
    /// Printer, 02h.
    public static let printer = PeripheralDeviceType(rawValue: 0x02)
    /// Processor, 03h.
    public static let processor = PeripheralDeviceType(rawValue: 0x03)
    /// Write-once, 04h.
    public static let writeOnce = PeripheralDeviceType(rawValue: 0x04)
    /// CD/DVD (MMC), 05h.
    public static let cdDvd = PeripheralDeviceType(rawValue: 0x05)
    /// Optical memory, 07h.
    public static let opticalMemory = PeripheralDeviceType(rawValue: 0x07)
    /// Medium changer (SMC), 08h: the tape library robot.
    public static let mediumChanger = PeripheralDeviceType(rawValue: 0x08)
    /// Storage array controller (SCC), 0Ch.
    public static let storageArrayController = PeripheralDeviceType(rawValue: 0x0C)
    /// Enclosure services (SES), 0Dh.
    public static let enclosureServices = PeripheralDeviceType(rawValue: 0x0D)
    /// Simplified direct access (RBC), 0Eh.
    public static let simplifiedDirectAccess = PeripheralDeviceType(rawValue: 0x0E)
    /// Object-based storage (OSD), 11h.
    public static let objectBasedStorage = PeripheralDeviceType(rawValue: 0x11)
    /// Automation/drive interface (ADC), 12h.
    public static let automationDriveInterface = PeripheralDeviceType(rawValue: 0x12)
    /// Host managed zoned block (ZBC), 14h.
    public static let hostManagedZonedBlock = PeripheralDeviceType(rawValue: 0x14)
    /// Well known logical unit, 1Eh.
    public static let wellKnownLogicalUnit = PeripheralDeviceType(rawValue: 0x1E)
    /// Unknown or no device type, 1Fh.
    public static let unknownOrNoDevice = PeripheralDeviceType(rawValue: 0x1F)

    /// The text sg3_utils 1.46 prints (`sg_lib_pdt_strs`).
    public var name: String {
        switch rawValue {
        case 0x00: return "disk"
        case 0x01: return "tape"
        case 0x02: return "printer"
        case 0x03: return "processor"
        case 0x04: return "write once optical disk"
        case 0x05: return "cd/dvd"
        case 0x06: return "scanner"
        case 0x07: return "optical memory device"
        case 0x08: return "medium changer"
        case 0x09: return "communications"
        case 0x0A: return "graphics [0xa]"
        case 0x0B: return "graphics [0xb]"
        case 0x0C: return "storage array controller"
        case 0x0D: return "enclosure services device"
        case 0x0E: return "simplified direct access device"
        case 0x0F: return "optical card reader/writer device"
        case 0x10: return "bridge controller commands"
        case 0x11: return "object based storage"
        case 0x12: return "automation/driver interface"
        case 0x13: return "security manager device"
        case 0x14: return "host managed zoned block"
        case 0x1E: return "well known logical unit"
        case 0x1F: return "unknown or no device type"
        default: return "0x" + String(rawValue, radix: 16)
        }
    }
    public var description: String { name }
}
