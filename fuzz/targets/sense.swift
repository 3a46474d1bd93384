// Fuzz target: sense data. PRCore's SenseData.decode (fixed 70h/71h and descriptor 72h/73h), the CLI's
// handling of a CHECK CONDITION through SCSIReservationDevice (retries, messages), and the sg_persist personality's sense
// text (sg_get_sense_str, sg_err_category_sense) in PersistText.
//
// Input: byte 0 = control (bit 0 raw hex dump, bits 2-1 lead-in, bits 4-3 status of the command: CHECK
// CONDITION, GOOD, RESERVATION CONFLICT, other), the rest = the sense buffer.
@testable import PRCore
@testable import Transports
@testable import SgPersist
@testable import SgText
@testable import StorageCtl

/// A device that answers every command with the same status and sense.
private final class SenseDevice: SCSITransport {
    let path = "/dev/fuzz"
    let result: SCSICommandResult
    init(_ result: SCSICommandResult) { self.result = result }
    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        result
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSense(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let control = input.u8()
    let sense = input.rest()

    let decoded = SenseData.decode(sense)
    let responseCode = (sense.first ?? 0) & 0x7F
    switch responseCode {
    case 0x70, 0x71: fuzzCheck((decoded != nil) == (sense.count >= 3), "fixed sense decoded iff the key byte is there")
    case 0x72, 0x73: fuzzCheck((decoded != nil) == (sense.count >= 2), "descriptor sense decoded iff the key byte is there")
    default: fuzzCheck(decoded == nil, "sense with response code \(responseCode) decoded")
    }
    if let decoded {
        _ = decoded.description
        _ = decoded.key.name
        fuzzCheck(decoded.isDescriptorFormat == (responseCode >= 0x72), "sense format")
        fuzzCheck(decoded.isCurrent == (responseCode == 0x70 || responseCode == 0x72), "current/deferred")
        // The personality's own normalisation (sg_scsi_normalize_sense) must agree with PRCore's decoder:
        // the CLI and `persist` classify one device answer the same way.
        if let normalized = PersistText.normalizedSense(sense) {
            fuzzCheck(normalized.key == decoded.key.rawValue && normalized.asc == decoded.additionalSense.asc
                      && normalized.ascq == decoded.additionalSense.ascq,
                      "PersistText.normalizedSense and SenseData.decode disagree on \(fuzzHex(sense))")
        } else {
            fuzzCheck(false, "SenseData decoded what PersistText.normalizedSense refused: \(fuzzHex(sense))")
        }
        // Re-encoding (what the simulated LU sends) keeps key, ASC/ASCQ and the sense-key-specific field.
        let fixed = decoded.encodeFixed()
        let again = SenseData.decode(fixed)
        fuzzCheck(again?.key == decoded.key && again?.additionalSense == decoded.additionalSense
                  && again?.senseKeySpecific == decoded.senseKeySpecific && again?.isDescriptorFormat == false,
                  "fixed sense round trip")
        let text = "\(decoded.key.name): \(decoded.additionalSense.description)"
        fuzzCheck(!text.utf8.contains(0x0A), "sense description spans lines")
    }

    // sg_persist personality text.
    let leadIns = ["", "    ", "persist: ", String(repeating: "x", count: 80)]
    let leadIn = leadIns[Int((control >> 1) & 0x03)]
    let text = PersistText.sense(sense, leadIn: leadIn, raw: control & 0x01 != 0)
    fuzzCheck(text.utf8.count <= 511, "sense text longer than sg_persist's buffer")
    _ = PersistText.senseCategory(sense)
    if sense.count >= 4 { _ = PersistText.additionalSense(asc: sense[2], ascq: sense[3]) }
    if sense.count >= 14 { _ = AdditionalSense.knownDescription(asc: sense[12], ascq: sense[13]) }

    // The CLI: a device answering with this status and sense, through the shared retry policy.
    let statuses: [ScsiStatus] = [.checkCondition, .good, .reservationConflict, ScsiStatus(rawValue: 0x22)]
    let status = statuses[Int((control >> 3) & 0x03)]
    let result = SCSICommandResult(status: status, sense: sense)
    let line = SCSIReservationDevice.describe(result, decoded)
    fuzzCheck(!line.utf8.contains(0x0A), "trace line spans lines")
    let device = SCSIReservationDevice(transport: SenseDevice(result), path: "/dev/fuzz", commandTimeout: 1, tracer: nil,
                                       typeField: .exclusiveAccess)
    do {
        let reply = try device.send([0x00, 0, 0, 0, 0, 0], what: "TEST UNIT READY")
        if reply.status == .checkCondition {
            fuzzCheck(reply.sense != nil, "CHECK CONDITION reply without sense")
            let failure = device.failure("TEST UNIT READY", reply)
            fuzzCheck(!failure.message.utf8.contains(0x0A), "error message spans lines")
        }
    } catch {
        fuzzCheck(!error.message.utf8.contains(0x0A), "error message spans lines")
    }
    return 0
}
