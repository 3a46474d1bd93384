// Byte-exact layouts of docs/pr-rules.md §4 and encode/decode round trips.
import Testing
@testable import PRCore

@Suite("ByteBuffer")
struct ByteBufferTests {
    @Test func readsBigEndianAndStopsAtTheEnd() {
        var reader = ByteReader([0x01, 0x02, 0x03, 0x04, 0x05])
        #expect(reader.readInteger(as: UInt16.self) == 0x0102)
        #expect(reader.readInteger(as: UInt32.self) == nil)  // only 3 left: unchanged
        #expect(reader.remaining == 3)
        #expect(reader.readBytes(4) == nil)
        #expect(reader.readBytes(-1) == nil)
        #expect(reader.readBytes(3) == [3, 4, 5])
        #expect(reader.isAtEnd)
        #expect(reader.readInteger(as: UInt8.self) == nil)
        let skipped = reader.skip(1)
        #expect(!skipped)
    }

    @Test func writesBigEndian() {
        var writer = ByteWriter()
        writer.writeInteger(UInt16(0x0102))
        writer.writeInteger(UInt32(0x0304_0506))
        writer.writeInteger(UInt64(0xA1))
        writer.writeZeros(2)
        #expect(writer.bytes == [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0xA1, 0, 0])
    }

    @Test func fixedOffsetHelpersNeverTrap() {
        let bytes: [UInt8] = [0, 1, 2]
        #expect(bytes.bigEndianInteger(at: 1, as: UInt16.self) == 0x0102)
        #expect(bytes.bigEndianInteger(at: 2, as: UInt16.self) == nil)
        #expect(bytes.bigEndianInteger(at: 5, as: UInt8.self) == nil)
        #expect(bytes.bigEndianInteger(at: -1, as: UInt8.self) == nil)
        #expect(bytes.byte(at: 3) == nil)
    }
}

@Suite("Sense")
struct SenseTests {
    @Test func descriptionsAsSg3Utils() {
        #expect(AdditionalSense.reservationsPreempted.description == "Reservations preempted")
        #expect(AdditionalSense.reservationsReleased.description == "Reservations released")
        #expect(AdditionalSense.registrationsPreempted.description == "Registrations preempted")
        #expect(AdditionalSense.invalidFieldInCDB.description == "Invalid field in cdb")
        #expect(AdditionalSense.invalidFieldInParameterList.description == "Invalid field in parameter list")
        #expect(AdditionalSense.invalidReleaseOfPersistentReservation.description == "Invalid release of persistent reservation")
        #expect(AdditionalSense.parameterListLengthError.description == "Parameter list length error")
        #expect(AdditionalSense.powerOnResetOrBusDeviceReset.description == "Power on, reset, or bus device reset occurred")
        #expect(AdditionalSense.insufficientRegistrationResources.description == "Insufficient registration resources")
        #expect(AdditionalSense.commandsClearedByAnotherInitiator.description == "Commands cleared by another initiator")
        #expect(AdditionalSense.logicalUnitCommunicationFailure.description == "Logical unit communication failure")
        #expect(AdditionalSense.invalidCommandOperationCode.description == "Invalid command operation code")
        #expect(AdditionalSense.mediumNotPresent.description == "Medium not present")
        #expect(AdditionalSense(asc: 0x04, ascq: 0x01).description == "Logical unit is in process of becoming ready")
        #expect(AdditionalSense(asc: 0x29, ascq: 0x07).description == "I_T nexus loss occurred")
        #expect(AdditionalSense(asc: 0x3F, ascq: 0x0E).description == "Reported luns data has changed")
        #expect(AdditionalSense(asc: 0x44, ascq: 0x00).description == "Internal target failure")
        #expect(AdditionalSense(asc: 0x25, ascq: 0x00).description == "Logical unit not supported")
        #expect(AdditionalSense(asc: 0x7E, ascq: 0x01).description == "ASC=7e, ASCQ=01 (hex)")
        #expect(AdditionalSense(asc: 0x80, ascq: 0x01).description == "vendor specific ASC=80, ASCQ=01 (hex)")
    }

    @Test func tableIsSortedAndUnique() {
        let codes = AdditionalSense.descriptions.map(\.code)
        #expect(codes == codes.sorted())
        #expect(Set(codes).count == codes.count)
        // Every table entry is found by the binary search.
        for entry in AdditionalSense.descriptions {
            #expect(AdditionalSense.knownDescription(asc: UInt8(entry.code >> 8), ascq: UInt8(entry.code & 0xFF)) == entry.text)
        }
        for ascq: UInt8 in 0...7 { #expect(AdditionalSense.knownDescription(asc: 0x29, ascq: ascq) != nil) }
        for ascq: UInt8 in 0...5 { #expect(AdditionalSense.knownDescription(asc: 0x2A, ascq: ascq) != nil) }
        for ascq: UInt8 in 0...4 { #expect(AdditionalSense.knownDescription(asc: 0x26, ascq: ascq) != nil) }
    }

    @Test func senseKeyNames() {
        #expect(SenseKey.illegalRequest.name == "Illegal Request")
        #expect(SenseKey.unitAttention.name == "Unit Attention")
        #expect(SenseKey.notReady.name == "Not Ready")
    }

    @Test func fixedFormatEncode() {
        let sense = SenseData(key: .unitAttention, additionalSense: .reservationsPreempted)
        #expect(sense.encodeFixed() == hex("70 00 06 00000000 0A 00000000 2A 03 00 000000"))
        let pointer = SenseData(key: .illegalRequest, additionalSense: .invalidFieldInCDB,
                                senseKeySpecific: .fieldPointer(byte: 2, bit: 4, inCDB: true))
        #expect(pointer.encodeFixed() == hex("70 00 05 00000000 0A 00000000 24 00 00 CC 0002"))
        #expect(sense.description == "Unit Attention: Reservations preempted")
    }

    @Test func fixedFormatRoundTripAndShortInput() {
        let original = SenseData(key: .illegalRequest, additionalSense: .invalidFieldInParameterList,
                                 senseKeySpecific: .fieldPointer(byte: 20, bit: 3, inCDB: false))
        let decoded = SenseData.decode(original.encodeFixed())
        #expect(decoded == original)
        #expect(decoded?.senseKeySpecific?.fieldPointer == 20)
        #expect(decoded?.senseKeySpecific?.bitPointer == 3)
        #expect(decoded?.senseKeySpecific?.isInCDB == false)
        // Deferred 71h.
        var deferred = original
        deferred.isCurrent = false
        #expect(SenseData.decode(deferred.encodeFixed())?.isCurrent == false)
        // Short sense: key only.
        #expect(SenseData.decode([0x70, 0, 0x06])?.key == .unitAttention)
        #expect(SenseData.decode([0x70, 0, 0x06])?.additionalSense == AdditionalSense(asc: 0, ascq: 0))
        #expect(SenseData.decode([0x70, 0]) == nil)
        #expect(SenseData.decode([]) == nil)
        #expect(SenseData.decode([0x12, 0, 5]) == nil)
        // ADDITIONAL SENSE LENGTH 4 hides bytes 12-13.
        var short = original.encodeFixed()
        short[7] = 4
        #expect(SenseData.decode(short)?.additionalSense == AdditionalSense(asc: 0, ascq: 0))
    }

    @Test func descriptorFormatDecode() {
        let bytes = hex("72 05 24 00 000000 0C 02 06 0000 CB 0002 00") + hex("00 02 0000")
        let sense = SenseData.decode(bytes)
        #expect(sense?.isDescriptorFormat == true)
        #expect(sense?.isCurrent == true)
        #expect(sense?.key == .illegalRequest)
        #expect(sense?.additionalSense == .invalidFieldInCDB)
        #expect(sense?.senseKeySpecific?.fieldPointer == 2)
        #expect(sense?.senseKeySpecific?.bitPointer == 3)
        #expect(SenseData.decode(hex("73 06 2A 05"))?.isCurrent == false)
        #expect(SenseData.decode(hex("73 06 2A 05"))?.additionalSense == .registrationsPreempted)
        // A descriptor longer than the data is ignored, not read past the end.
        #expect(SenseData.decode(hex("72 05 24 00 000000 10 02 FF"))?.senseKeySpecific == nil)
        #expect(SenseData.decode([0x72]) == nil)
    }
}

@Suite("ReservationKey")
struct ReservationKeyTests {
    @Test func parsesHex() throws {
        #expect(try ReservationKey.parse("A1") == ReservationKey(0xA1))
        #expect(try ReservationKey.parse("0xa1") == ReservationKey(0xA1))
        #expect(try ReservationKey.parse("0XaBcD") == ReservationKey(0xABCD))
        #expect(try ReservationKey.parse("0") == ReservationKey.zero)
        #expect(try ReservationKey.parse("ffffffffffffffff") == ReservationKey(UInt64.max))
        #expect(try ReservationKey.parse("0x0000000000000001") == ReservationKey(1))
    }

    @Test func rejectsWithTypedErrors() {
        #expect(throws: ReservationKey.ParseError.empty) { try ReservationKey.parse("") }
        #expect(throws: ReservationKey.ParseError.empty) { try ReservationKey.parse("0x") }
        #expect(throws: ReservationKey.ParseError.notHex) { try ReservationKey.parse("0xg1") }
        #expect(throws: ReservationKey.ParseError.notHex) { try ReservationKey.parse(" a1") }
        #expect(throws: ReservationKey.ParseError.notHex) { try ReservationKey.parse("-1") }
        #expect(throws: ReservationKey.ParseError.notHex) { try ReservationKey.parse("１") }
        #expect(throws: ReservationKey.ParseError.tooLong) { try ReservationKey.parse("10000000000000000") }
    }

    @Test func descriptionIsLowerCaseHexWithoutPadding() {
        #expect(ReservationKey(0xA1).description == "0xa1")
        #expect(ReservationKey.zero.description == "0x0")
        #expect(ReservationKey(UInt64.max).description == "0xffffffffffffffff")
    }
}

@Suite("ReservationType")
struct ReservationTypeTests {
    @Test func namesAsSgPersist() {
        #expect(ReservationType.writeExclusive.name == "Write Exclusive")
        #expect(ReservationType.exclusiveAccess.name == "Exclusive Access")
        #expect(ReservationType.writeExclusiveRegistrantsOnly.name == "Write Exclusive, registrants only")
        #expect(ReservationType.exclusiveAccessRegistrantsOnly.name == "Exclusive Access, registrants only")
        #expect(ReservationType.writeExclusiveAllRegistrants.name == "Write Exclusive, all registrants")
        #expect(ReservationType.exclusiveAccessAllRegistrants.name == "Exclusive Access, all registrants")
        #expect(ReservationType(rawValue: 0).name == "obsolete [0]")
        #expect(ReservationType(rawValue: 2).name == "obsolete [2]")
        #expect(ReservationType(rawValue: 4).name == "obsolete [4]")
        #expect(ReservationType(rawValue: 9).name == "obsolete [9]")
        #expect(ReservationType(rawValue: 0xA).name == "obsolete [0xa]")
        #expect(ReservationType(rawValue: 0x10).name == "unknown")
    }

    @Test func shortNamesAndParse() {
        let expected: [(UInt8, String)] = [(1, "wr-ex"), (3, "ex-ac"), (5, "wr-ex-ro"), (6, "ex-ac-ro"), (7, "wr-ex-ar"), (8, "ex-ac-ar")]
        for (code, short) in expected {
            let type = ReservationType(rawValue: code)
            #expect(type.shortName == short)
            #expect(ReservationType.parse(short) == type)
            #expect(ReservationType.parse(short.uppercased()) == type)
            #expect(ReservationType.parse(String(code)) == type)
            #expect(type.isDefined)
        }
        for bad in ["0", "2", "4", "9", "", "ex", "wr-ex-xx", "03"] { #expect(ReservationType.parse(bad) == nil) }
        #expect(ReservationType.writeExclusiveAllRegistrants.isAllRegistrants)
        #expect(!ReservationType.exclusiveAccess.isAllRegistrants)
    }
}

@Suite("TransportID")
struct TransportIDTests {
    let name = "iqn.1994-05.com.redhat:a"

    @Test func iscsiFormat00Example() {
        let tid = TransportID.iscsi(name: name)
        #expect(tid.bytes == hex("05 00 00 1C") + Array(name.utf8) + [0, 0, 0, 0])
        #expect(tid.bytes.count == 32)
        #expect(tid.decoded == .iscsiName(name))
        #expect(tid.protocolIdentifier == 5)
        #expect(tid.formatCode == 0)
    }

    @Test func iscsiFormat00HasMinimumLength() {
        let tid = TransportID.iscsi(name: "iqn.x")
        #expect(tid.bytes.count == 24)  // ADDITIONAL LENGTH 20
        #expect(tid.bytes[3] == 20)
    }

    @Test func iscsiFormat01Example() {
        let tid = TransportID.iscsi(name: name, isid: 0x4000_0137_0000)
        #expect(tid.bytes == hex("45 00 00 2C") + Array("iqn.1994-05.com.redhat:a,i,0x400001370000".utf8) + [0, 0, 0])
        #expect(tid.bytes.count == 48)
        #expect(tid.decoded == .iscsiPort(name: name, isid: "400001370000"))
        #expect(tid.formatCode == 1)
        #expect(tid.description == "iqn.1994-05.com.redhat:a,i,0x400001370000")
        #expect(TransportID.decode(atStartOf: tid.bytes + [9, 9]) == tid)
        #expect(TransportID.decode(atStartOf: Array(tid.bytes.prefix(47))) == nil)
    }

    @Test func otherProtocols() {
        let fc = TransportID.fibreChannel(portName: 0x2100_0024_FF12_3456)
        #expect(fc.bytes == hex("00 000000 00000000 21000024FF123456 0000000000000000"))
        #expect(fc.decoded == .fibreChannel(wwn: 0x2100_0024_FF12_3456))
        let sas = TransportID.sas(address: 0x5000_C500_1234_5678)
        #expect(sas.bytes == hex("06 000000 5000C50012345678 0000000000000000 00000000"))
        #expect(sas.decoded == .sas(address: 0x5000_C500_1234_5678))
        #expect(sas.description == "0x5000c50012345678")
        var srp = [UInt8](repeating: 0, count: 24)
        srp[0] = 4
        srp[23] = 7
        #expect(TransportID(bytes: srp).decoded == .srp(portIdentifier: [UInt8](repeating: 0, count: 15) + [7]))
        var sbp = [UInt8](repeating: 0, count: 24)
        sbp[0] = 3
        sbp[15] = 1
        #expect(TransportID(bytes: sbp).decoded == .sbp(eui64: 1))
        #expect(TransportID(bytes: [0x0F, 0, 0]).decoded == .unknown(protocolIdentifier: 0xF, formatCode: 0))
        #expect(TransportID(bytes: [0x06]).decoded == .unknown(protocolIdentifier: 6, formatCode: 0))
        #expect(TransportID(bytes: []).decoded == .unknown(protocolIdentifier: 0, formatCode: 0))
        #expect(TransportID(bytes: [0x45, 0, 0x00, 0x08, 0x61, 0x62]).decoded == .unknown(protocolIdentifier: 5, formatCode: 1))
    }

    @Test func normalizationLowerCasesAndRepads() {
        // Upper-case ISID and extra padding: same port.
        let text = Array("IQN.1994-05.com.redhat:a,i,0x40000137000A".utf8) + [UInt8](repeating: 0, count: 7)
        let odd = TransportID(bytes: [0x45, 0, 0, UInt8(text.count)] + text)
        #expect(odd.normalized == TransportID.iscsi(name: name, isid: 0x4000_0137_000A))
    }
}

@Suite("PERSISTENT RESERVE OUT codecs")
struct PersistentReserveOutCodecTests {
    @Test func cdbLayout() {
        let cdb = PersistentReserveOut.CDB(serviceAction: .reserve, scope: 0, type: .exclusiveAccess, parameterListLength: 24)
        #expect(cdb.encode() == hex("5F 01 03 00 00 00000018 00"))
        #expect(PersistentReserveOut.CDB.decode(cdb.encode()) == cdb)
        let odd = PersistentReserveOut.CDB(serviceAction: .init(rawValue: 0x1F), scope: 1, type: .writeExclusive,
                                           parameterListLength: 0x0102_0304, control: 4)
        #expect(odd.encode() == hex("5F 1F 11 00 00 01020304 04"))
        #expect(PersistentReserveOut.CDB.decode(odd.encode()) == odd)
        #expect(PersistentReserveOut.CDB.decode(hex("5F 01 03 00 00 000000")) == nil)
        #expect(PersistentReserveOut.CDB.decode(hex("5E 01 03 00 00 00000018 00")) == nil)
        #expect(PersistentReserveOut.ServiceAction.registerAndIgnoreExistingKey.name == "register and ignore existing key")
    }

    @Test func parameterListLayout() {
        let list = PersistentReserveOut.ParameterList(reservationKey: 0xA1, serviceActionReservationKey: 0xB1,
                                                      specifyInitiatorPorts: true, allTargetPorts: true,
                                                      activatePersistThroughPowerLoss: true)
        #expect(list.encode() == hex("00000000000000A1 00000000000000B1 00000000 0D 00 0000"))
        #expect(PersistentReserveOut.ParameterList.decode(list.encode()) == list)
        #expect(PersistentReserveOut.ParameterList.decode(list.encode() + [1, 2, 3, 4]) == list)
        #expect(PersistentReserveOut.ParameterList.decode(Array(list.encode().prefix(23))) == nil)
    }

    @Test func registerAndMoveListLayout() {
        let tid = TransportID.iscsi(name: "iqn.1994-05.com.redhat:b", isid: 0x4000_0137_0001)
        let list = PersistentReserveOut.RegisterAndMoveParameterList(
            reservationKey: 0xA1, serviceActionReservationKey: 0xB2, unregister: true, activatePersistThroughPowerLoss: true,
            relativeTargetPortIdentifier: 2, transportID: tid.bytes)
        let bytes = list.encode()
        #expect(Array(bytes.prefix(24)) == hex("00000000000000A1 00000000000000B2 00 03 0002 00000030"))
        #expect(bytes.count == 72)
        #expect(PersistentReserveOut.RegisterAndMoveParameterList.decode(bytes) == list)
        #expect(PersistentReserveOut.RegisterAndMoveParameterList.decode(Array(bytes.prefix(71))) == nil)
        var huge = bytes
        huge[20] = 0xFF
        #expect(PersistentReserveOut.RegisterAndMoveParameterList.decode(huge) == nil)
        #expect(PersistentReserveOut.RegisterAndMoveParameterList.transportIDParameterDataLength(in: bytes) == 48)
    }
}

@Suite("PERSISTENT RESERVE IN codecs")
struct PersistentReserveInCodecTests {
    @Test func cdbLayout() {
        let cdb = PersistentReserveIn.CDB(serviceAction: .readFullStatus, allocationLength: 0x4000)
        #expect(cdb.encode() == hex("5E 03 00 00 00 00 00 4000 00"))
        #expect(PersistentReserveIn.CDB.decode(cdb.encode()) == cdb)
        #expect(PersistentReserveIn.CDB.decode(hex("5E 03 00")) == nil)
    }

    @Test("READ KEYS example of §4.2")
    func readKeysExample() {
        let response = ReadKeysResponse(generation: 1, keys: [0xA1])
        #expect(response.encode() == hex("00000001 00000008 00000000000000A1"))
        #expect(ReadKeysResponse.decode(response.encode()) == response)
    }

    @Test func readKeysTruncated() {
        let full = ReadKeysResponse(generation: 2, keys: [0xA1, 0xB1]).encode()
        let eight = ReadKeysResponse.decode(Array(full.prefix(8)))
        #expect(eight?.keys == [])
        #expect(eight?.additionalLength == 16)
        #expect(eight?.isTruncated == true)
        let twenty = ReadKeysResponse.decode(Array(full.prefix(20)))
        #expect(twenty?.keys == [0xA1])
        #expect(ReadKeysResponse.decode(Array(full.prefix(7))) == nil)
        // Extra bytes beyond ADDITIONAL LENGTH are not keys.
        #expect(ReadKeysResponse.decode(hex("00000001 00000000 00000000000000A1"))?.keys == [])
    }

    @Test("READ RESERVATION bytes of S11.2")
    func readReservationExample() {
        let response = ReadReservationResponse(generation: 2, reservation: .init(key: 0xA1, type: .writeExclusive))
        #expect(response.encode() == hex("00000002 00000010 00000000000000A1 00000000 00 01 0000"))
        #expect(ReadReservationResponse.decode(response.encode()) == response)
        let none = ReadReservationResponse(generation: 0, reservation: nil)
        #expect(none.encode() == hex("00000000 00000000"))
        #expect(ReadReservationResponse.decode(none.encode()) == none)
        let cut = ReadReservationResponse.decode(Array(response.encode().prefix(16)))
        #expect(cut?.reservation == nil)
        #expect(cut?.isTruncated == true)
        #expect(ReadReservationResponse.decode([0, 0, 0]) == nil)
    }

    @Test("REPORT CAPABILITIES bytes of S55.1")
    func reportCapabilitiesExample() {
        let caps = ReportCapabilitiesResponse(persistThroughPowerLossCapable: true, typeMaskValid: true, allowCommands: 1,
                                              typeMask: 0xEA01)
        #expect(caps.encode() == hex("00 08 01 90 EA 01 00 00"))
        #expect(ReportCapabilitiesResponse.decode(caps.encode()) == caps)
        #expect(caps.supportedTypes == ReservationType.allDefined)
        let lio = ReportCapabilitiesResponse.decode(hex("00 08 1D 91 EA 01 00 00"))!
        #expect(lio.compatibleReservationHandling && lio.specifyInitiatorPortsCapable && lio.allTargetPortsCapable)
        #expect(lio.persistThroughPowerLossActivated)
        #expect(ReportCapabilitiesResponse.decode(hex("00 08 01"))?.typeMask == 0)
        #expect(ReportCapabilitiesResponse.decode(hex("00")) == nil)
    }

    @Test("READ FULL STATUS bytes of S56.1")
    func readFullStatusExample() {
        let a = FullStatusDescriptor(key: 0xA1, isReservationHolder: true, type: .writeExclusive,
                                     relativeTargetPortIdentifier: 1, transportID: A.transportID)
        let b = FullStatusDescriptor(key: 0xB1, isReservationHolder: false, type: ReservationType(rawValue: 0),
                                     relativeTargetPortIdentifier: 2, transportID: B.transportID)
        let response = ReadFullStatusResponse(generation: 2, descriptors: [a, b])
        let bytes = response.encode()
        #expect(Array(bytes.prefix(8)) == hex("00000002 00000090"))
        #expect(Array(bytes[8..<32]) == hex("00000000000000A1 00000000 01 01 00000000 0001 00000030"))
        #expect(Array(bytes[32..<80]) == hex("45 00 00 2C") + Array("iqn.1994-05.com.redhat:a,i,0x400001370000".utf8) + [0, 0, 0])
        #expect(Array(bytes[80..<104]) == hex("00000000000000B1 00000000 00 00 00000000 0002 00000030"))
        #expect(bytes.count == 8 + 144)
        #expect(ReadFullStatusResponse.decode(bytes) == response)
        // Truncated in the middle of descriptor B: A decoded, B dropped, claimed length kept.
        let cut = ReadFullStatusResponse.decode(Array(bytes.prefix(100)))
        #expect(cut?.descriptors == [a])
        #expect(cut?.additionalLength == 144)
        #expect(cut?.isTruncated == true)
        // A descriptor claiming a huge TransportID is not decoded.
        var bad = bytes
        bad[28] = 0xFF
        #expect(ReadFullStatusResponse.decode(bad)?.descriptors == [])
    }
}

@Suite("INQUIRY and names")
struct InquiryTests {
    @Test func cdbAndStandardData() {
        let cdb = Inquiry.CDB(allocationLength: 36)
        #expect(cdb.encode() == hex("12 00 00 0024 00"))
        #expect(Inquiry.CDB.decode(cdb.encode()) == cdb)
        #expect(Inquiry.CDB.decode(hex("12 01 80 00FF 00")) == Inquiry.CDB(evpd: true, pageCode: 0x80, allocationLength: 255))
        let data = StandardInquiryData(peripheralDeviceType: .tape, removable: true, vendor: "IBM", product: "ULT3580-TD8", revision: "Q3F2")
        let bytes = data.encode()
        #expect(bytes.count == 36)
        #expect(Array(bytes.prefix(5)) == hex("01 80 06 02 1F"))
        #expect(Array(bytes[8..<16]) == Array("IBM     ".utf8))
        #expect(StandardInquiryData.decode(bytes) == data)
        #expect(StandardInquiryData.decode(Array(bytes.prefix(20)))?.product == "ULT3")
        #expect(StandardInquiryData.decode([0x7F])?.peripheralQualifier == 3)
        #expect(StandardInquiryData.decode([]) == nil)
    }

    @Test func peripheralDeviceTypeNames() {
        let expected: [(UInt8, String)] = [
            (0, "disk"), (1, "tape"), (2, "printer"), (3, "processor"), (4, "write once optical disk"), (5, "cd/dvd"),
            (7, "optical memory device"), (8, "medium changer"), (0xC, "storage array controller"),
            (0xD, "enclosure services device"), (0xE, "simplified direct access device"), (0x11, "object based storage"),
            (0x14, "host managed zoned block"), (0x1E, "well known logical unit"), (0x1F, "unknown or no device type"),
        ]
        for (code, text) in expected { #expect(PeripheralDeviceType(rawValue: code).name == text) }
        #expect(PeripheralDeviceType.tape == PeripheralDeviceType(rawValue: 1))
    }

    @Test func statusAndOpcodeNames() {
        #expect(ScsiStatus.reservationConflict.name == "Reservation Conflict")
        #expect(OperationCode.persistentReserveOut.rawValue == 0x5F)
        #expect(OperationCode.read10.name == "Read(10)")
    }
}
