import PRCore

/// sg_persist 1.46's stdout layouts: the INQUIRY header, READ KEYS, READ RESERVATION, READ FULL STATUS,
/// REPORT CAPABILITIES and the `-H` hex forms.
///
/// sg_persist prints from a zero-filled buffer of the allocation length, whatever the device transferred,
/// and trusts the lengths the device claims. The formatters here take the bytes received and read past them
/// as zeros, the same way; where sg_persist would read past its buffer (undefined behaviour), they stop at
/// the buffer's end instead.
public enum PersistOutput {
    /// `MX_ALLOC_LEN`: the default and largest PR IN allocation length (sg_persist's response buffer).
    public static let maximumAllocationLength: UInt32 = 8192

    // MARK: INQUIRY

    /// `"  %.8s  %.16s  %.4s"` and the peripheral device type line, from standard INQUIRY data (zeros past
    /// the bytes received; each field ends at a NUL as C prints it).
    public static func inquiryHeader(_ data: [UInt8]) -> String {
        var bytes = data
        if bytes.count < 36 { bytes += [UInt8](repeating: 0, count: 36 - bytes.count) }
        let decoded = StandardInquiryData.decode(bytes)
        let vendor = PersistText.cText(bytes[8..<16], count: 8)
        let product = PersistText.cText(bytes[16..<32], count: 16)
        let revision = PersistText.cText(bytes[32..<36], count: 4)
        let type = decoded?.peripheralDeviceType ?? PeripheralDeviceType(rawValue: bytes[0] & 0x1F)
        let name = type.name
        return "  \(vendor)  \(product)  \(revision)\n"
            + "  Peripheral device type: \(name.isEmpty ? "0x" + PersistText.hex(type.rawValue) : name)\n"
    }

    /// The same header for decoded INQUIRY data (encoded with PRCore first).
    public static func inquiryHeader(_ data: StandardInquiryData) -> String { inquiryHeader(data.encode()) }

    // MARK: PR IN

    /// sg_persist's `pr_type_strs`.
    static func typeName(_ field: UInt8) -> String { ReservationType(rawValue: field & 0x0F).name }

    /// The text `prin_work()` prints for a successful PR IN, plus what it prints on stderr and the exit status
    /// (REPORT CAPABILITIES with a wrong length is SG_LIB_CAT_MALFORMED).
    public struct Rendered: Equatable, Sendable {
        public var stdout = ""
        public var stderr = ""
        public var exitCode: Int32 = 0
    }

    /// Formats a PR IN response as sg_persist does for service action `serviceAction`.
    /// - Parameters:
    ///   - data: the bytes the device transferred.
    ///   - allocationLength: the ALLOCATION LENGTH sent (sg_persist's buffer size).
    ///   - hex: the `-H` count; `verbose`: the `-v` count.
    public static func reserveIn(_ serviceAction: PersistentReserveIn.ServiceAction, data: [UInt8],
                                 allocationLength: UInt32 = PersistOutput.maximumAllocationLength,
                                 hex: Int = 0, verbose: Int = 0) -> Rendered {
        var out = Rendered()
        // What sg_persist may read: its buffer (at least the 8-byte header it always reads).
        let limit = max(Int(min(allocationLength, PersistOutput.maximumAllocationLength)), 8)
        var buffer = Array(data.prefix(limit))
        buffer += [UInt8](repeating: 0, count: limit - buffer.count)

        if serviceAction == .reportCapabilities {
            if buffer[1] != 8 {
                out.stderr += "Unexpected response for PRIN Report Capabilities\n"
                if hex > 0 { out.stdout += PersistText.hexDump(buffer, count: Int(buffer[1]), noASCII: 1) }
                out.exitCode = PersistExit.malformed
                return out
            }
            if hex > 0 {
                out.stdout += PersistText.hexDump(buffer, count: 8, noASCII: 1)
            } else if let caps = ReportCapabilitiesResponse.decode(buffer) {
                out.stdout += reportCapabilities(caps)
            }
            return out
        }

        let generation = PersistText.be32(buffer, 0)
        let additionalLength = Int32(bitPattern: PersistText.be32(buffer, 4))
        if hex > 0 {
            if hex > 1 {
                let count = min(Int(additionalLength) + 8, limit)
                out.stdout += PersistText.hexDump(buffer, count: count, noASCII: hex == 2 ? 1 : -1)
            } else {
                out.stdout += "  PR generation=0x\(PersistText.hex(generation)), "
                if additionalLength <= 0 { out.stdout += "Additional length=\(additionalLength)\n" }
                let room = UInt32(truncatingIfNeeded: allocationLength) &- 8
                if UInt32(bitPattern: additionalLength) > room {
                    out.stdout += "Additional length too large=\(additionalLength), truncate\n"
                    let count = min(Int(Int32(bitPattern: room)), limit - 8)
                    out.stdout += PersistText.hexDump(Array(buffer[8...]), count: count, noASCII: 1)
                } else {
                    out.stdout += "Additional length=\(additionalLength)\n"
                    out.stdout += PersistText.hexDump(Array(buffer[8...]), count: min(Int(additionalLength), limit - 8), noASCII: 1)
                }
            }
            return out
        }
        switch serviceAction {
        case .readKeys:
            out.stdout += readKeys(buffer, generation: generation, additionalLength: additionalLength)
        case .readReservation:
            out.stdout += readReservation(buffer, generation: generation, additionalLength: additionalLength)
        case .readFullStatus:
            out.stdout += readFullStatus(buffer, generation: generation, additionalLength: additionalLength, verbose: verbose)
        default:
            break
        }
        return out
    }

    /// READ KEYS as sg_persist prints it.
    /// `keyLabel` lets `storage-ctl query` add ` (name)` after configured keys; sg_persist prints the key alone.
    public static func readKeys(_ response: ReadKeysResponse, keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        let bytes = response.encode()
        return readKeys(bytes, generation: response.generation, additionalLength: Int32(bitPattern: response.additionalLength),
                        keyLabel: keyLabel)
    }

    static func readKeys(_ buffer: [UInt8], generation: UInt32, additionalLength: Int32,
                         keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        var text = "  PR generation=0x\(PersistText.hex(generation)), "
        let count = Int(additionalLength / 8)
        guard count > 0 else { return text + "there are NO registered reservation keys\n" }
        text += count == 1 ? "1 registered reservation key follows:\n" : "\(count) registered reservation keys follow:\n"
        // Keys past the buffer would be read past sg_persist's allocation: not printed.
        let shown = min(count, max(0, (buffer.count - 8 + 7) / 8))
        var reader = ByteReader(buffer + [UInt8](repeating: 0, count: 8), offset: 8)
        for _ in 0..<shown {
            let key = ReservationKey(rawValue: reader.readInteger(as: UInt64.self) ?? 0)
            text += "    \(keyLabel(key))\n"
        }
        return text
    }

    /// READ RESERVATION as sg_persist prints it.
    public static func readReservation(_ response: ReadReservationResponse,
                                       keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        var bytes = response.encode()
        if bytes.count < 24 { bytes += [UInt8](repeating: 0, count: 24 - bytes.count) }
        return readReservation(bytes, generation: response.generation, additionalLength: Int32(bitPattern: response.additionalLength),
                               keyLabel: keyLabel)
    }

    static func readReservation(_ buffer: [UInt8], generation: UInt32, additionalLength: Int32,
                                keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        var text = "  PR generation=0x\(PersistText.hex(generation)), "
        guard additionalLength / 16 > 0 else { return text + "there is NO reservation held\n" }
        let key = ReservationKey(rawValue: PersistText.be64(buffer, 8))
        let scopeType = PersistText.byte(buffer, 21)
        text += "Reservation follows:\n    Key=\(keyLabel(key))\n"
        text += scopeLine(scopeType, indent: "    ")
        return text
    }

    private static func scopeLine(_ scopeType: UInt8, indent: String) -> String {
        let scope = scopeType >> 4
        let head = scope == 0 ? "\(indent)scope: LU_SCOPE, " : "\(indent)scope: \(scope) "
        return head + " type: \(typeName(scopeType))\n"
    }

    /// READ FULL STATUS as sg_persist prints it.
    public static func readFullStatus(_ response: ReadFullStatusResponse, verbose: Int = 0,
                                      keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        let bytes = response.encode()
        return readFullStatus(bytes, generation: response.generation,
                              additionalLength: Int32(bitPattern: response.additionalLength), verbose: verbose, keyLabel: keyLabel)
    }

    static func readFullStatus(_ buffer: [UInt8], generation: UInt32, additionalLength: Int32, verbose: Int,
                               keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        var text = "  PR generation=0x\(PersistText.hex(generation))\n"
        if additionalLength == 0 {
            text += "  No full status descriptors\n"
            if verbose > 0 { text += "  So there are no registered IT nexuses\n" }
        }
        var k: Int64 = 0
        var offset = 8
        while k < Int64(additionalLength) {
            // Stop where sg_persist would read past its buffer or loop without advancing.
            guard offset + 24 <= buffer.count else { break }
            let descriptorLength = Int32(bitPattern: PersistText.be32(buffer, offset + 20))
            let step = 24 + Int64(descriptorLength)
            let header = Array(buffer[offset..<(offset + 24)])
            let flags = header[12]
            let descriptor = FullStatusDescriptor(
                key: ReservationKey(rawValue: PersistText.be64(header, 0)), allTargetPorts: flags & 0x02 != 0,
                isReservationHolder: flags & 0x01 != 0, scope: header[13] >> 4,
                type: ReservationType(rawValue: header[13] & 0x0F),
                relativeTargetPortIdentifier: PersistText.be16(header, 18),
                transportID: TransportID(bytes: Array(buffer[(offset + 24)...])))
            text += fullStatusDescriptor(descriptor, scopeType: header[13], transportIDLength: Int(descriptorLength),
                                         keyLabel: keyLabel)
            guard step > 0 else { break }
            k += step
            offset += Int(step)
        }
        return text
    }

    /// One READ FULL STATUS descriptor; `transportIDLength` is ADDITIONAL DESCRIPTOR LENGTH as received.
    static func fullStatusDescriptor(_ d: FullStatusDescriptor, scopeType: UInt8, transportIDLength: Int,
                                     keyLabel: (ReservationKey) -> String = { $0.description }) -> String {
        var text = "    Key=\(keyLabel(d.key))\n"
        if d.allTargetPorts {
            text += "      All target ports bit set\n"
        } else {
            text += "      All target ports bit clear\n"
            text += "      Relative port address: 0x\(PersistText.hex(d.relativeTargetPortIdentifier))\n"
        }
        if d.isReservationHolder {
            text += "      << Reservation holder >>\n"
            text += scopeLine(scopeType, indent: "      ")
        } else {
            text += "      not reservation holder\n"
        }
        if transportIDLength > 0 {
            text += PersistText.transportID(leadIn: "      ", d.transportID.bytes, length: transportIDLength)
        }
        return text
    }

    /// REPORT CAPABILITIES as sg_persist prints it.
    public static func reportCapabilities(_ caps: ReportCapabilitiesResponse) -> String {
        func bit(_ value: Bool) -> String { value ? "1" : "0" }
        var text = "Report capabilities response:\n"
        text += "  Replace Lost Reservation Capable(RLR_C): \(bit(caps.replaceLostReservationCapable))\n"
        text += "  Compatible Reservation Handling(CRH): \(bit(caps.compatibleReservationHandling))\n"
        text += "  Specify Initiator Ports Capable(SIP_C): \(bit(caps.specifyInitiatorPortsCapable))\n"
        text += "  All Target Ports Capable(ATP_C): \(bit(caps.allTargetPortsCapable))\n"
        text += "  Persist Through Power Loss Capable(PTPL_C): \(bit(caps.persistThroughPowerLossCapable))\n"
        text += "  Type Mask Valid(TMV): \(bit(caps.typeMaskValid))\n"
        text += "  Allow Commands: \(caps.allowCommands & 0x07)\n"
        text += "  Persist Through Power Loss Active(PTPL_A): \(bit(caps.persistThroughPowerLossActivated))\n"
        if caps.typeMaskValid {
            text += "    Support indicated in Type mask:\n"
            let order: [ReservationType] = [.writeExclusiveAllRegistrants, .exclusiveAccessRegistrantsOnly,
                                            .writeExclusiveRegistrantsOnly, .exclusiveAccess, .writeExclusive,
                                            .exclusiveAccessAllRegistrants]
            for type in order { text += "      \(type.name): \(bit(caps.supports(type)))\n" }
        }
        return text
    }
}
