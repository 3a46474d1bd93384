// Fuzz target: PR IN response decoders (READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS),
// TransportID decoding and normalisation, and the sg_persist personality's formatters over the same bytes.
//
// Input: byte 0 = control (bits 1-0 service action, bits 3-2 -H count, bits 5-4 -v count, bit 6: an unknown
// service action 04h..), bytes 1-2 = ALLOCATION LENGTH (big-endian), the rest = the bytes the device sent.
@testable import PRCore
@testable import SgPersist
@testable import SgText

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPRINResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.u8()
    let allocationLength = UInt32(input.u16())
    let bytes = input.rest()

    checkReadKeys(bytes)
    checkReadReservation(bytes)
    checkReportCapabilities(bytes)
    checkReadFullStatus(bytes)
    checkTransportIDs(in: bytes)

    // sg_persist's formatting of the same bytes, as `persist`/`sg_persist` prints them.
    var serviceAction = PersistentReserveIn.ServiceAction(rawValue: control & 0x03)
    if control & 0x40 != 0 { serviceAction = PersistentReserveIn.ServiceAction(rawValue: 0x04 | (control & 0x03)) }
    let hex = Int((control >> 2) & 0x03)
    let verbose = Int((control >> 4) & 0x03)
    let rendered = PersistOutput.reserveIn(serviceAction, data: bytes, allocationLength: allocationLength,
                                           hex: hex, verbose: verbose)
    fuzzCheck(rendered.exitCode == 0 || rendered.exitCode == PersistExit.malformed,
              "reserveIn exit code \(rendered.exitCode)")
    _ = PersistOutput.inquiryHeader(bytes)
    if let decoded = StandardInquiryData.decode(bytes) { _ = PersistOutput.inquiryHeader(decoded) }
    if let keys = ReadKeysResponse.decode(bytes) { _ = PersistOutput.readKeys(keys) }
    if let reservation = ReadReservationResponse.decode(bytes) { _ = PersistOutput.readReservation(reservation) }
    if let caps = ReportCapabilitiesResponse.decode(bytes) { _ = PersistOutput.reportCapabilities(caps) }
    if let full = ReadFullStatusResponse.decode(bytes) { _ = PersistOutput.readFullStatus(full, verbose: verbose) }
    _ = PersistText.transportID(leadIn: "      ", bytes, length: Int(allocationLength))
    return 0
}

private func checkReadKeys(_ bytes: [UInt8]) {
    guard let response = ReadKeysResponse.decode(bytes) else {
        fuzzCheck(bytes.count < 8, "READ KEYS: a complete header did not decode")
        return
    }
    fuzzCheck(bytes.count >= 8, "READ KEYS decoded without its header")
    fuzzCheck(response.generation == fuzzBE(bytes, 0, as: UInt32.self), "READ KEYS generation")
    fuzzCheck(response.additionalLength == fuzzBE(bytes, 4, as: UInt32.self), "READ KEYS additional length")
    let expected = min(Int(response.additionalLength / 8), (bytes.count - 8) / 8)
    fuzzCheck(response.keys.count == expected, "READ KEYS: \(response.keys.count) keys, expected \(expected)")
    for (index, key) in response.keys.enumerated() {
        fuzzCheck(key.rawValue == fuzzBE(bytes, 8 + 8 * index, as: UInt64.self), "READ KEYS key \(index)")
    }
    fuzzCheck(response.isTruncated == (Int(response.additionalLength) / 8 > response.keys.count), "READ KEYS isTruncated")
    let again = ReadKeysResponse.decode(response.encode())
    fuzzCheck(again?.keys == response.keys && again?.generation == response.generation && again?.isTruncated == false,
              "READ KEYS round trip")
}

private func checkReadReservation(_ bytes: [UInt8]) {
    guard let response = ReadReservationResponse.decode(bytes) else {
        fuzzCheck(bytes.count < 8, "READ RESERVATION: a complete header did not decode")
        return
    }
    let claimed = fuzzBE(bytes, 4, as: UInt32.self) ?? 0
    fuzzCheck(response.additionalLength == claimed, "READ RESERVATION additional length")
    if claimed > 0 && bytes.count >= 22 {
        fuzzCheck(response.reservation?.key.rawValue == fuzzBE(bytes, 8, as: UInt64.self), "READ RESERVATION key")
        fuzzCheck(response.reservation?.type.rawValue == bytes[21] & 0x0F, "READ RESERVATION type")
        fuzzCheck(response.reservation?.scope == bytes[21] >> 4, "READ RESERVATION scope")
    } else {
        fuzzCheck(response.reservation == nil, "READ RESERVATION: a reservation from missing bytes")
    }
    let again = ReadReservationResponse.decode(response.encode())
    fuzzCheck(again?.generation == response.generation && again?.reservation == response.reservation,
              "READ RESERVATION round trip")
}

private func checkReportCapabilities(_ bytes: [UInt8]) {
    guard let caps = ReportCapabilitiesResponse.decode(bytes) else {
        fuzzCheck(bytes.count < 2, "REPORT CAPABILITIES: a LENGTH field did not decode")
        return
    }
    var expected = caps
    expected.length = 8
    fuzzCheck(ReportCapabilitiesResponse.decode(caps.encode()) == expected, "REPORT CAPABILITIES round trip")
    for type in caps.supportedTypes { fuzzCheck(type.isDefined && caps.supports(type), "REPORT CAPABILITIES types") }
}

private func checkReadFullStatus(_ bytes: [UInt8]) {
    guard let response = ReadFullStatusResponse.decode(bytes) else {
        fuzzCheck(bytes.count < 8, "READ FULL STATUS: a complete header did not decode")
        return
    }
    let used = response.descriptors.reduce(0) { $0 + $1.encodedLength }
    fuzzCheck(used <= min(Int(response.additionalLength), bytes.count - 8),
              "READ FULL STATUS descriptors (\(used) bytes) outside the data")
    let again = ReadFullStatusResponse.decode(response.encode())
    fuzzCheck(again?.descriptors == response.descriptors && again?.generation == response.generation,
              "READ FULL STATUS round trip")
    for descriptor in response.descriptors {
        checkTransportID(descriptor.transportID)
        _ = PersistOutput.fullStatusDescriptor(descriptor, scopeType: descriptor.scope << 4 | descriptor.type.rawValue,
                                               transportIDLength: descriptor.transportID.bytes.count)
    }
}

/// TransportID at every offset a descriptor could start (bounded), plus the raw bytes as one.
private func checkTransportIDs(in bytes: [UInt8]) {
    checkTransportID(TransportID(bytes: bytes))
    for offset in stride(from: 0, to: min(bytes.count, 64), by: 4) {
        let tail = Array(bytes[offset...])
        if let tid = TransportID.decode(atStartOf: tail) {
            fuzzCheck(tid.bytes.count == TransportID.encodedLength(atStartOf: tail), "TransportID length")
            checkTransportID(tid)
        }
    }
}

private func checkTransportID(_ tid: TransportID) {
    _ = tid.description
    let decoded = tid.decoded
    let normalized = tid.normalized
    // The engine stores nexuses in this form and the state decoder insists on it: it must be a fixed point,
    // and (for the protocols the engine can identify) a complete TransportID of exactly its own length.
    fuzzCheck(normalized.normalized == normalized,
              "TransportID normalisation is not idempotent: \(fuzzHex(tid.bytes)) -> \(fuzzHex(normalized.bytes)) -> \(fuzzHex(normalized.normalized.bytes))")
    if case .unknown = decoded { return }
    guard normalized.bytes.count <= 4 + Int(UInt16.max) else { return }
    let reparsed = TransportID.decode(atStartOf: normalized.bytes)
    fuzzCheck(reparsed?.bytes.count == normalized.bytes.count,
              "normalised TransportID is not complete: \(fuzzHex(normalized.bytes))")
    fuzzCheck(Nexus(transportID: tid, relativeTargetPortIdentifier: 1).normalized.transportID == normalized, "Nexus.normalized")
}
