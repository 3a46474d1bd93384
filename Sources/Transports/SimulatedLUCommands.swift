import PRCore

/// What the simulated LU says about itself: from the file's header, plus the target port of the nexus.
struct SimLUIdentity: Sendable, Equatable {
    var deviceType: PeripheralDeviceType
    /// 8, 16 and 4 ASCII bytes, space-padded, exactly as stored.
    var vendor: [UInt8]
    var product: [UInt8]
    var revision: [UInt8]
    /// 16 bytes from the header.
    var logicalUnitID: [UInt8]
    var relativeTargetPortIdentifier: UInt16

    init(header: SimLUHeader, relativeTargetPortIdentifier: UInt16) {
        deviceType = PeripheralDeviceType(rawValue: header.deviceType)
        vendor = header.vendor
        product = header.product
        revision = header.revision
        logicalUnitID = header.logicalUnitID
        self.relativeTargetPortIdentifier = relativeTargetPortIdentifier
    }

    /// VPD 80h PRODUCT SERIAL NUMBER: the LU identifier as 32 upper-case hex digits.
    var unitSerialNumber: String {
        logicalUnitID.map { byte in
            let digits = Array("0123456789ABCDEF".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }

    /// Vendor, product and revision as text, trailing spaces removed.
    var vendorText: String { SimLUIdentity.text(vendor) }
    var productText: String { SimLUIdentity.text(product) }
    var revisionText: String { SimLUIdentity.text(revision) }

    private static func text(_ bytes: [UInt8]) -> String {
        var bytes = bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        while bytes.last == 0x20 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The ordinary commands a simulated LU executes itself, once the PR engine has let them through (`.proceed`).
///
/// The medium is imaginary: every device type (tape included, for simplicity) is a 1 GiB direct-access medium
/// of 512-byte blocks. READ returns zeros, WRITE stores nothing, and READ CAPACITY reports that size.
///
/// | Command | Answer |
/// |---|---|
/// | TEST UNIT READY (00h) | GOOD |
/// | REQUEST SENSE (03h) | GOOD, NO SENSE data (fixed 70h, or descriptor 72h when DESC = 1) |
/// | INQUIRY (12h) | standard data (`STORCTL `, `SIM TAPE`/`SIM DISK`/..., `1.0 `); VPD 00h, 80h, 83h; other pages CC 5/24/00 |
/// | REPORT LUNS (A0h) | LUN 0 |
/// | READ CAPACITY(10) (25h), (16) (9Eh/10h) | 2097152 blocks of 512 bytes |
/// | READ(6/10/12/16) (08h/28h/A8h/88h) | GOOD, zeros: transfer length × 512 bytes (READ(6): 0 means 256) |
/// | WRITE(6/10/12/16), VERIFY(6/10/12/16), SYNCHRONIZE CACHE(10/16), MODE SELECT(6/10) | GOOD, data discarded |
/// | MODE SENSE(6/10) (1Ah/5Ah) | the mode parameter header alone, no block descriptor, no pages |
/// | anything else | CC 5/20/00 INVALID COMMAND OPERATION CODE |
///
/// A CDB shorter than its operation code's group length gets CC 5/24/00. Data-in is cut to the CDB's
/// ALLOCATION LENGTH here and to the initiator's buffer by the caller.
enum SimLUCommands {
    /// Logical block length.
    static let blockLength: UInt32 = 512
    /// 1 GiB of 512-byte blocks.
    static let blockCount: UInt64 = 2_097_152

    static func execute(cdb: [UInt8], dataInLength: Int, identity: SimLUIdentity) -> SCSIResponse {
        guard let first = cdb.first else { return .checkCondition(.illegalRequest, .invalidCommandOperationCode) }
        let opcode = OperationCode(rawValue: first)
        guard cdb.count >= groupLength(of: first) else { return .checkCondition(.illegalRequest, .invalidFieldInCDB) }
        let dataInLength = max(0, dataInLength)

        switch opcode {
        case .testUnitReady:
            return .good()
        case .requestSense:
            let descriptorFormat = cdb[1] & 0x01 != 0
            let sense: [UInt8] = descriptorFormat
                ? [0x72, 0, 0, 0, 0, 0, 0, 0]
                : SenseData(key: .noSense, additionalSense: .noAdditionalSenseInformation).encodeFixed()
            return .good(Array(sense.prefix(Int(cdb[4]))))
        case .inquiry:
            return inquiry(cdb: cdb, identity: identity)
        case .reportLuns:
            let allocation = Int(cdb.bigEndianInteger(at: 6, as: UInt32.self) ?? 0)
            let data: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
            return .good(Array(data.prefix(allocation)))
        case .readCapacity10:
            var writer = ByteWriter(capacity: 8)
            writer.writeInteger(UInt32(clamping: blockCount - 1))
            writer.writeInteger(blockLength)
            return .good(writer.bytes)
        case .serviceActionIn16:
            guard cdb[1] & 0x1F == 0x10 else { return .checkCondition(.illegalRequest, .invalidFieldInCDB) }
            var writer = ByteWriter(capacity: 32)
            writer.writeInteger(blockCount - 1)
            writer.writeInteger(blockLength)
            writer.writeZeros(20)
            let allocation = Int(cdb.bigEndianInteger(at: 10, as: UInt32.self) ?? 0)
            return .good(Array(writer.bytes.prefix(allocation)))
        case .read6, .read10, .read12, .read16:
            let blocks = transferLength(cdb: cdb, opcode: opcode)
            // Bounded by the initiator's buffer before anything is allocated.
            let bytes = blocks.multipliedReportingOverflow(by: UInt64(blockLength))
            let count = bytes.overflow ? dataInLength : Int(min(bytes.partialValue, UInt64(dataInLength)))
            return .good([UInt8](repeating: 0, count: count))
        case .write6, .write10, .write12, .write16, .verify6, .verify10, .verify12, .verify16,
             .synchronizeCache10, .synchronizeCache16, .modeSelect6, .modeSelect10:
            return .good()
        case .modeSense6:
            // MODE DATA LENGTH 3, MEDIUM TYPE 0, DEVICE-SPECIFIC PARAMETER 0, BLOCK DESCRIPTOR LENGTH 0.
            return .good(Array([3, 0, 0, 0].prefix(Int(cdb[4]))))
        case .modeSense10:
            let allocation = Int(cdb.bigEndianInteger(at: 7, as: UInt16.self) ?? 0)
            return .good(Array([0, 6, 0, 0, 0, 0, 0, 0].prefix(allocation)))
        default:
            return .checkCondition(.illegalRequest, .invalidCommandOperationCode)
        }
    }

    /// CDB length by GROUP CODE (SPC-4 "Operation code"): 6, 10, 10, reserved, 16, 12; 6 for the rest.
    static func groupLength(of opcode: UInt8) -> Int {
        switch opcode >> 5 {
        case 0: return 6
        case 1, 2: return 10
        case 4: return 16
        case 5: return 12
        default: return 6
        }
    }

    /// TRANSFER LENGTH in blocks. READ(6): byte 4, 0 meaning 256; (10): bytes 7–8; (12): 6–9; (16): 10–13.
    private static func transferLength(cdb: [UInt8], opcode: OperationCode) -> UInt64 {
        switch opcode {
        case .read6: return cdb[4] == 0 ? 256 : UInt64(cdb[4])
        case .read10: return UInt64(cdb.bigEndianInteger(at: 7, as: UInt16.self) ?? 0)
        case .read12: return UInt64(cdb.bigEndianInteger(at: 6, as: UInt32.self) ?? 0)
        default: return UInt64(cdb.bigEndianInteger(at: 10, as: UInt32.self) ?? 0)
        }
    }

    // MARK: INQUIRY

    /// Standard data, or a VPD page: 00h SUPPORTED VPD PAGES, 80h UNIT SERIAL NUMBER, 83h DEVICE IDENTIFICATION.
    static func inquiry(cdb: [UInt8], identity: SimLUIdentity) -> SCSIResponse {
        guard let request = Inquiry.CDB.decode(cdb), cdb[1] & 0xFE == 0 else {
            return .checkCondition(.illegalRequest, .invalidFieldInCDB)  // CMDDT (obsolete) or reserved bits
        }
        let data: [UInt8]
        if !request.evpd {
            guard request.pageCode == 0 else { return .checkCondition(.illegalRequest, .invalidFieldInCDB) }
            data = StandardInquiryData(peripheralDeviceType: identity.deviceType,
                                       removable: identity.deviceType == .tape,
                                       vendor: identity.vendorText, product: identity.productText,
                                       revision: identity.revisionText).encode()
        } else {
            switch request.pageCode {
            case 0x00: data = vpdPage(0x00, identity: identity, payload: [0x00, 0x80, 0x83])
            case 0x80: data = vpdPage(0x80, identity: identity, payload: Array(identity.unitSerialNumber.utf8))
            case 0x83: data = vpdPage(0x83, identity: identity, payload: deviceIdentification(identity))
            default: return .checkCondition(.illegalRequest, .invalidFieldInCDB)
            }
        }
        return .good(Array(data.prefix(Int(request.allocationLength))))
    }

    /// PERIPHERAL DEVICE TYPE, PAGE CODE, PAGE LENGTH (2 bytes), payload.
    private static func vpdPage(_ page: UInt8, identity: SimLUIdentity, payload: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: 4 + payload.count)
        writer.writeInteger(identity.deviceType.rawValue & 0x1F)
        writer.writeInteger(page)
        writer.writeInteger(UInt16(payload.count))
        writer.writeBytes(payload)
        return writer.bytes
    }

    /// Two designation descriptors: the LU's T10 vendor ID designator (`STORCTL ` + serial, ASCII) and the
    /// RELATIVE TARGET PORT IDENTIFIER of the nexus's target port (iSCSI, binary).
    private static func deviceIdentification(_ identity: SimLUIdentity) -> [UInt8] {
        var writer = ByteWriter()
        let t10 = identity.vendor + Array(identity.unitSerialNumber.utf8)
        writer.writeInteger(UInt8(0x02))          // PROTOCOL IDENTIFIER 0, CODE SET 2 (ASCII)
        writer.writeInteger(UInt8(0x01))          // PIV 0, ASSOCIATION 00b (LU), DESIGNATOR TYPE 1 (T10 vendor ID)
        writer.writeInteger(UInt8(0))
        writer.writeInteger(UInt8(t10.count))
        writer.writeBytes(t10)
        writer.writeInteger(UInt8(0x51))          // PROTOCOL IDENTIFIER 5 (iSCSI), CODE SET 1 (binary)
        writer.writeInteger(UInt8(0x94))          // PIV 1, ASSOCIATION 01b (target port), TYPE 4 (relative port)
        writer.writeInteger(UInt8(0))
        writer.writeInteger(UInt8(4))
        writer.writeInteger(UInt16(0))
        writer.writeInteger(identity.relativeTargetPortIdentifier)
        return writer.bytes
    }
}
