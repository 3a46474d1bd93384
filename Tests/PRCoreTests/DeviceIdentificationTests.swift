// Device Identification (83h) and Unit Serial Number (80h) VPD pages, byte for byte, and what a short or
// malformed page decodes to (never a trap, never a read past the end).
import Testing
@testable import PRCore

@Suite("Device Identification VPD")
struct DeviceIdentificationTests {
    /// A LIO disk's page 83h as seen through iSCSI target port 1 (target_core_spc.c's order): NAA 6 (LU), T10 vendor
    /// ID (LU), relative target port 1, target port group 0, SCSI name string of the target port.
    static let lioPage: [UInt8] = [
        0x00, 0x83, 0x00, 0x4C,
        // NAA, binary, LU, 16 bytes
        0x01, 0x03, 0x00, 0x10,
        0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12,
        // T10 vendor ID, ASCII, LU, 12 bytes: "LIO-ORG sn01"
        0x02, 0x01, 0x00, 0x0C,
        0x4C, 0x49, 0x4F, 0x2D, 0x4F, 0x52, 0x47, 0x20, 0x73, 0x6E, 0x30, 0x31,
        // relative target port, binary, PIV, iSCSI (5h), target port, 4 bytes: RTPI 1
        0x51, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        // target port group 0
        0x51, 0x95, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
        // SCSI name string, UTF-8, PIV, iSCSI, target port, 20 bytes: "iqn.t:a,t,0x0001" + NULs
        0x53, 0x98, 0x00, 0x14,
        0x69, 0x71, 0x6E, 0x2E, 0x74, 0x3A, 0x61, 0x2C, 0x74, 0x2C, 0x30, 0x78, 0x30, 0x30, 0x30, 0x31, 0, 0, 0, 0,
    ]

    @Test func lioPageDecodesEveryDesignator() throws {
        let page = try #require(DeviceIdentificationPage.decode(Self.lioPage))
        #expect(page.peripheralDeviceType == .disk)
        #expect(page.pageLength == 0x4C)
        #expect(!page.isTruncated)
        #expect(page.designators.count == 5)
        let naa = page.designators[0]
        #expect(naa.codeSet == .binary && naa.association == .logicalUnit && naa.designatorType == .naa && !naa.protocolIdentifierValid)
        #expect(naa.designator.count == 16 && naa.designator.first == 0x60)
        let rtp = page.designators[2]
        #expect(rtp.protocolIdentifier == TransportID.ProtocolIdentifier.iscsi && rtp.protocolIdentifierValid)
        #expect(rtp.association == .targetPort && rtp.designatorType == .relativeTargetPort)
        #expect(page.designators[4].codeSet == .utf8 && page.designators[4].designatorType == .scsiNameString)
        #expect(page.logicalUnitIdentity == LogicalUnitIdentity(source: .naa, text: "naa.6001405abcdef0123456789abcdef012"))
        #expect(page.relativeTargetPortIdentifier == 1)
        #expect(page.targetPortGroup == 0)
    }

    @Test func encodeRoundTripsTheSameBytes() throws {
        let page = try #require(DeviceIdentificationPage.decode(Self.lioPage))
        #expect(page.encode() == Self.lioPage)
        let built = DeviceIdentificationPage(peripheralDeviceType: .tape, designators: [
            .init(codeSet: .binary, association: .logicalUnit, designatorType: .naa, designator: [0x50, 1, 2, 3, 4, 5, 6, 7]),
            .init(protocolIdentifier: 0, codeSet: .binary, protocolIdentifierValid: true, association: .targetPort,
                  designatorType: .relativeTargetPort, designator: [0, 0, 0x01, 0x02]),
        ])
        #expect(built.encode() == [0x01, 0x83, 0x00, 0x14,
                                   0x01, 0x03, 0x00, 0x08, 0x50, 1, 2, 3, 4, 5, 6, 7,
                                   0x01, 0x94, 0x00, 0x04, 0, 0, 0x01, 0x02])
        #expect(DeviceIdentificationPage.decode(built.encode()) == built)
        #expect(built.relativeTargetPortIdentifier == 0x0102)
    }

    @Test func identityPrefersNAAThenEUI64ThenNameStringThenT10() {
        func identity(_ designators: [DeviceIdentificationPage.Designator]) -> String? {
            DeviceIdentificationPage(peripheralDeviceType: .tape, designators: designators).logicalUnitIdentity?.text
        }
        let t10 = DeviceIdentificationPage.Designator(codeSet: .ascii, association: .logicalUnit, designatorType: .t10VendorID,
                                                      designator: Array("IBM     ULT3580-TD8  1013000655 ".utf8))
        let name = DeviceIdentificationPage.Designator(codeSet: .utf8, association: .logicalUnit, designatorType: .scsiNameString,
                                                       designator: Array("iqn.2003-01.org.x:lu0".utf8) + [0, 0, 0])
        let eui = DeviceIdentificationPage.Designator(codeSet: .binary, association: .logicalUnit, designatorType: .eui64,
                                                      designator: [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77])
        let naa = DeviceIdentificationPage.Designator(codeSet: .binary, association: .logicalUnit, designatorType: .naa,
                                                      designator: [0x50, 0x01, 0x43, 0x80, 0x12, 0x34, 0x56, 0x78])
        // a target port's NAA (an FC port WWN) names the port, not the LU
        let portNAA = DeviceIdentificationPage.Designator(codeSet: .binary, association: .targetPort, designatorType: .naa,
                                                          designator: [0x50, 0x01, 0x43, 0x80, 0, 0, 0, 1])
        #expect(identity([t10]) == "t10.IBM     ULT3580-TD8  1013000655")
        #expect(identity([t10, name]) == "iqn.2003-01.org.x:lu0")
        #expect(identity([t10, name, eui]) == "eui.0011223344556677")
        #expect(identity([t10, name, eui, portNAA]) == "eui.0011223344556677")
        #expect(identity([t10, name, eui, naa, portNAA]) == "naa.5001438012345678")
        #expect(identity([portNAA]) == nil)
        // an empty or all-NUL designator makes no name: the next kind is used
        let emptyNAA = DeviceIdentificationPage.Designator(codeSet: .binary, association: .logicalUnit, designatorType: .naa, designator: [])
        let nulName = DeviceIdentificationPage.Designator(codeSet: .utf8, association: .logicalUnit, designatorType: .scsiNameString,
                                                          designator: [0, 0, 0, 0])
        #expect(identity([emptyNAA, nulName, t10]) == "t10.IBM     ULT3580-TD8  1013000655")
        // T10 text with control bytes prints on one line
        let odd = DeviceIdentificationPage.Designator(codeSet: .ascii, association: .logicalUnit, designatorType: .t10VendorID,
                                                      designator: [0x41, 0x0A, 0x42, 0xFF, 0x20, 0x00])
        #expect(identity([odd]) == "t10.A?B?")
    }

    @Test func rtpiNeedsATargetPortAssociationAndFourBytes() {
        func rtpi(_ association: DeviceIdentificationPage.Association, _ bytes: [UInt8]) -> UInt16? {
            DeviceIdentificationPage(peripheralDeviceType: .tape, designators: [
                .init(codeSet: .binary, association: association, designatorType: .relativeTargetPort, designator: bytes),
            ]).relativeTargetPortIdentifier
        }
        #expect(rtpi(.targetPort, [0, 0, 0, 2]) == 2)
        #expect(rtpi(.targetPort, [0xFF, 0xFF, 0x80, 0x01]) == 0x8001)
        #expect(rtpi(.logicalUnit, [0, 0, 0, 2]) == nil)
        #expect(rtpi(.targetPort, [0, 0, 2]) == nil)
        #expect(rtpi(.targetPort, []) == nil)
    }

    @Test func truncatedPagesKeepWhatIsWholeAndSaySo() throws {
        // every prefix of the page: never a trap; a descriptor cut short is dropped
        for n in 0...Self.lioPage.count {
            let prefix = Array(Self.lioPage.prefix(n))
            let page = DeviceIdentificationPage.decode(prefix)
            if n < 4 { #expect(page == nil); continue }
            let decoded = try #require(page)
            #expect(decoded.isTruncated == (n < Self.lioPage.count), "\(n)")
            #expect(decoded.designators.count == [4, 24, 40, 48, 56, 80].filter { $0 <= n }.count - 1, "\(n)")
        }
        // the NAA whole, the rest cut: identity known, RTPI not
        let cut = try #require(DeviceIdentificationPage.decode(Array(Self.lioPage.prefix(30))))
        #expect(cut.logicalUnitIdentity?.text == "naa.6001405abcdef0123456789abcdef012")
        #expect(cut.relativeTargetPortIdentifier == nil)
    }

    @Test func pageLengthBoundsTheDescriptorsAndDescriptorLengthsLie() throws {
        // PAGE LENGTH 8 with more bytes after it: only the first descriptor is read
        var shortLength = Self.lioPage
        shortLength[3] = 0x14
        let page = try #require(DeviceIdentificationPage.decode(shortLength))
        #expect(page.designators.count == 1 && !page.isTruncated)
        // a DESIGNATOR LENGTH past the end of the page
        let lying: [UInt8] = [0x00, 0x83, 0x00, 0x08, 0x01, 0x03, 0x00, 0xFF, 0x60, 0x01, 0x40, 0x5a]
        let l = try #require(DeviceIdentificationPage.decode(lying))
        #expect(l.designators.isEmpty && l.isTruncated && l.logicalUnitIdentity == nil)
        // a header alone, PAGE LENGTH 0
        #expect(DeviceIdentificationPage.decode([0x01, 0x83, 0x00, 0x00])?.designators == [])
        // another page code, or nothing
        #expect(DeviceIdentificationPage.decode([0x00, 0x80, 0x00, 0x00]) == nil)
        #expect(DeviceIdentificationPage.decode([]) == nil)
        // a stray byte after the last descriptor (inside PAGE LENGTH) is a cut descriptor
        let stray = try #require(DeviceIdentificationPage.decode([0x00, 0x83, 0x00, 0x01, 0x01]))
        #expect(stray.designators.isEmpty && stray.isTruncated)
    }

    @Test func unknownCodesStayRepresentable() throws {
        let bytes: [UInt8] = [0xFF, 0x83, 0x00, 0x06, 0xFF, 0xFF, 0xFF, 0x02, 0xAA, 0xBB]
        let page = try #require(DeviceIdentificationPage.decode(bytes))
        #expect(page.peripheralQualifier == 7 && page.peripheralDeviceType.rawValue == 0x1F)
        let d = try #require(page.designators.first)
        #expect(d.protocolIdentifier == 0xF && d.codeSet.rawValue == 0xF && d.protocolIdentifierValid)
        #expect(d.association.rawValue == 3 && d.designatorType.rawValue == 0xF && d.designator == [0xAA, 0xBB])
        #expect(page.encode() == [0xFF, 0x83, 0x00, 0x06, 0xFF, 0xBF, 0x00, 0x02, 0xAA, 0xBB])   // reserved bit 6 of byte 1 not kept
    }
}

@Suite("Unit Serial Number VPD")
struct UnitSerialNumberTests {
    @Test func decodesTrimsAndNamesWithVendorAndProduct() throws {
        let bytes: [UInt8] = [0x01, 0x80, 0x00, 0x0C] + Array("  1013000655".utf8)
        let page = try #require(UnitSerialNumberPage.decode(bytes))
        #expect(page.peripheralDeviceType == .tape)
        #expect(page.productSerialNumber == "1013000655")
        #expect(!page.isTruncated)
        #expect(page.logicalUnitIdentity(vendor: "IBM     ", product: "ULT3580-TD8     ")
                == LogicalUnitIdentity(source: .unitSerialNumber, text: "serial.IBM.ULT3580-TD8.1013000655"))
        #expect(UnitSerialNumberPage(peripheralDeviceType: .tape, productSerialNumber: "1013000655").encode()
                == [0x01, 0x80, 0x00, 0x0A] + Array("1013000655".utf8))
    }

    @Test func shortAndEmptyPages() throws {
        #expect(UnitSerialNumberPage.decode([0x01, 0x80, 0x00]) == nil)
        #expect(UnitSerialNumberPage.decode([0x01, 0x83, 0x00, 0x00]) == nil)
        let cut = try #require(UnitSerialNumberPage.decode([0x01, 0x80, 0x00, 0x10, 0x41, 0x42]))
        #expect(cut.productSerialNumber == "AB" && cut.isTruncated)
        let blank = try #require(UnitSerialNumberPage.decode([0x01, 0x80, 0x00, 0x04, 0x20, 0x20, 0x00, 0x20]))
        #expect(blank.productSerialNumber == "")
        #expect(blank.logicalUnitIdentity(vendor: "HP", product: "Ultrium") == nil)
    }
}
