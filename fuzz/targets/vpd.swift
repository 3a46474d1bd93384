// Fuzz target: the VPD pages that tell which LU a path reaches and through which target port (PRCore's
// DeviceIdentificationPage, UnitSerialNumberPage: read from sysfs' vpd_pg83/vpd_pg80, which a device fills),
// and an initiator port as an admin writes it (TransportID.parse(port:), from initiator_ports= and initiator=).
//
// Input: byte 0 = control (bits 1-0: page 83h, page 80h, a port's text, all three), the rest = the bytes.
@testable import PRCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVPD(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.u8()
    let bytes = input.rest()
    let which = control & 0x03
    if which == 0 || which == 3 {
        let page = DeviceIdentificationPage.decode(bytes)
        fuzzCheck((page != nil) == (bytes.count >= 4 && bytes[1] == 0x83), "page 83h decoded iff its header is there")
        if let page {
            _ = page.logicalUnitIdentity?.description
            _ = page.relativeTargetPortIdentifier
            _ = page.targetPortGroup
            // what was decoded encodes and decodes to the same designators
            let again = DeviceIdentificationPage.decode(page.encode())
            fuzzCheck(again?.designators == page.designators, "page 83h round trip")
            fuzzCheck(again?.logicalUnitIdentity == page.logicalUnitIdentity, "identity stable over a round trip")
        }
    }
    if which == 1 || which == 3 {
        let page = UnitSerialNumberPage.decode(bytes)
        fuzzCheck((page != nil) == (bytes.count >= 4 && bytes[1] == 0x80), "page 80h decoded iff its header is there")
        if let page { _ = page.logicalUnitIdentity(vendor: "LIO-ORG", product: "FILEIO")?.description }
    }
    if which == 2 || which == 3 {
        let text = String(decoding: bytes, as: UTF8.self)
        if let port = TransportID.parse(port: text) {
            // a parsed port prints as a port that parses to the same TransportID
            fuzzCheck(TransportID.parse(port: port.description)?.normalized == port.normalized
                      || !port.description.contains(",i,0x"), "port text round trip: \(port)")
            _ = port.normalized
        }
    }
    return 0
}
