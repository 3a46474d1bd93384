import Glibc
import PRCore
import ProcessSupport

/// The text renderings sg_persist 1.46 borrows from sg3_utils' sg_lib (hex dumps, CDB and status strings,
/// sense data, TransportIDs, Linux transport statuses), reproduced to the byte. Decoding goes through the
/// PRCore codecs where they exist (sense keys, ASC/ASCQ texts, reservation types, TransportID protocols).
public enum PersistText {
    // MARK: small C helpers

    /// `safe_strerror()`: glibc's message for an errno value (a negative one taken as its magnitude).
    public static func strerror(_ code: Int32) -> String {
        Errno(rawValue: code < 0 ? -code : code).description
    }

    /// At most `limit` UTF-8 bytes of `text` (what an snprintf into a fixed buffer keeps).
    public static func truncated(_ text: String, to limit: Int) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return text }
        return String(decoding: bytes.prefix(max(0, limit)), as: UTF8.self)
    }


    public static func hex(_ value: some BinaryInteger) -> String { String(value, radix: 16) }

    /// sg3_utils' `my_isprint()`: ASCII 0x20...0x7e.
    static func isPrint(_ byte: UInt8) -> Bool { byte >= 0x20 && byte < 0x7F }

    /// A C string's `%.*s`: at most `count` bytes, stopping at a NUL.
    static func cText(_ bytes: ArraySlice<UInt8>, count: Int) -> String {
        let text = bytes.prefix(max(0, count)).prefix { $0 != 0 }
        return String(decoding: text, as: UTF8.self)
    }

    static func be16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(byte(bytes, at)) << 8 | UInt16(byte(bytes, at + 1)) }
    static func be24(_ bytes: [UInt8], _ at: Int) -> UInt32 { UInt32(be16(bytes, at)) << 8 | UInt32(byte(bytes, at + 2)) }
    static func be32(_ bytes: [UInt8], _ at: Int) -> UInt32 { UInt32(be16(bytes, at)) << 16 | UInt32(be16(bytes, at + 2)) }
    static func be64(_ bytes: [UInt8], _ at: Int) -> UInt64 { UInt64(be32(bytes, at)) << 32 | UInt64(be32(bytes, at + 4)) }
    /// A byte of a buffer that reads as zero past its end (sg3_utils' zero-filled buffers).
    static func byte(_ bytes: [UInt8], _ at: Int) -> UInt8 { at >= 0 && at < bytes.count ? bytes[at] : 0 }

    // MARK: hex dumps

    /// `dStrHex()` / `hex2stdout()` / `hex2stderr()`: `noASCII` > 0 offsets and hex, = 0 offsets, hex and
    /// ASCII, < 0 bare hex.
    public static func hexDump(_ bytes: [UInt8], count: Int, noASCII: Int) -> String {
        guard count > 0 else { return "" }
        var out = ""
        func at(_ index: Int) -> UInt8 { byte(bytes, index) }
        if noASCII < 0 {
            var line: [UInt8] = []
            for k in 0..<count {
                if line.count == 24 { line.append(0x20) }
                line += Array(Hex.twoDigits(at(k)).utf8) + [0x20]
                if k > 0 && (k + 1) % 16 == 0 {
                    out += trimmed(line) + "\n"
                    line = []
                }
            }
            if !line.isEmpty { out += trimmed(line) + "\n" }
            return out
        }
        var buffer = [UInt8](repeating: 0x20, count: 80)
        var address = 0
        func startLine() {
            buffer = [UInt8](repeating: 0x20, count: 80)
            let label = Array(Hex.twoDigits(address).utf8)
            for (i, b) in label.enumerated() where 1 + i < 80 { buffer[1 + i] = b }
        }
        startLine()
        var bpos = 5
        var cpos = 60
        for k in 0..<count {
            let c = at(k)
            bpos += 3
            if bpos == 5 + 27 { bpos += 1 }
            let digits = Array(Hex.twoDigits(c).utf8)
            if bpos + 1 < 80 {
                buffer[bpos] = digits[0]
                buffer[bpos + 1] = digits[1]
            }
            buffer[cpos] = noASCII != 0 ? 0x20 : (isPrint(c) ? c : UInt8(ascii: "."))
            cpos += 1
            if cpos > 60 + 15 {
                out += (noASCII != 0 ? trimmed(buffer) : String(decoding: buffer.prefix(76), as: UTF8.self)) + "\n"
                bpos = 5
                cpos = 60
                address += 16
                startLine()
            }
        }
        if cpos > 60 {
            let line = Array(buffer.prefix(cpos))
            out += (noASCII != 0 ? trimmed(line) : String(decoding: line, as: UTF8.self)) + "\n"
        }
        return out
    }

    private static func trimmed(_ line: [UInt8]) -> String {
        var end = line.count
        while end > 0, line[end - 1] == 0x20 { end -= 1 }
        return String(decoding: line[..<end], as: UTF8.self)
    }

    /// `hex2str()` / `dStrHexStr()`: 16 bytes a line after `leadIn`, an extra space after the eighth;
    /// `format` 0 adds the ASCII column.
    static func hexString(_ bytes: ArraySlice<UInt8>, count: Int, leadIn: String, format: Int) -> String {
        guard count > 0 else { return "" }
        let wantASCII = format == 0
        var lead = Array(leadIn.utf8)
        if lead.count > 90 { lead = Array(lead.prefix(90)) }
        let bpstart = lead.count
        let priorASCIILength = bpstart + 16 * 3 + 1
        var out = ""
        var line = lead
        var ascii = [UInt8](repeating: 0x20, count: 16)
        let base = bytes.startIndex
        for k in 0..<count {
            let index = base + k
            let c: UInt8 = index < bytes.endIndex ? bytes[index] : 0
            if line.count == bpstart + 24 { line.append(0x20) }
            line += Array(Hex.twoDigits(c).utf8) + [0x20]
            if wantASCII { ascii[k % 16] = isPrint(c) ? c : UInt8(ascii: ".") }
            if k > 0 && (k + 1) % 16 == 0 {
                out += finishHexLine(line, ascii: wantASCII ? ascii : nil, width: priorASCIILength)
                ascii = [UInt8](repeating: 0x20, count: 16)
                line = lead
            }
        }
        if line.count > bpstart { out += finishHexLine(line, ascii: wantASCII ? ascii : nil, width: priorASCIILength) }
        return out
    }

    private static func finishHexLine(_ line: [UInt8], ascii: [UInt8]?, width: Int) -> String {
        let text = trimmed(line)
        guard let ascii else { return text + "\n" }
        let pad = max(0, width - text.utf8.count)
        return text + String(repeating: " ", count: pad) + "   " + String(decoding: ascii, as: UTF8.self) + "\n"
    }

    /// `sg_get_command_str(cdb, len, false, ...)`: `[5e 00 ...]`.
    public static func commandString(_ cdb: [UInt8]) -> String {
        "[" + cdb.map { Hex.twoDigits($0) }.joined(separator: " ") + "]"
    }

    // MARK: statuses

    /// `sg_get_scsi_status_str()` (the status is masked with 7Eh first).
    public static func scsiStatus(_ raw: UInt8) -> String {
        let status = raw & 0x7E
        switch status {
        case 0x00, 0x02, 0x04, 0x08, 0x10, 0x14, 0x18, 0x22, 0x28, 0x30, 0x40:
            return ScsiStatus(rawValue: status).name
        default:
            return "Unknown status [0x\(hex(status))]"
        }
    }

    static let linuxHostBytes = [
        "DID_OK", "DID_NO_CONNECT", "DID_BUS_BUSY", "DID_TIME_OUT", "DID_BAD_TARGET", "DID_ABORT", "DID_PARITY",
        "DID_ERROR", "DID_RESET", "DID_BAD_INTR", "DID_PASSTHROUGH", "DID_SOFT_ERROR", "DID_IMM_RETRY", "DID_REQUEUE",
        "DID_TRANSPORT_DISRUPTED", "DID_TRANSPORT_FAILFAST", "DID_TARGET_FAILURE",
        "DID_NEXUS_FAILURE (reservation conflict)", "DID_ALLOC_FAILURE", "DID_MEDIUM_ERROR",
    ]
    static let linuxDriverBytes = [
        "DRIVER_OK", "DRIVER_BUSY", "DRIVER_SOFT", "DRIVER_MEDIA", "DRIVER_ERROR", "DRIVER_INVALID",
        "DRIVER_TIMEOUT", "DRIVER_HARD", "DRIVER_SENSE",
    ]

    /// sg_pt_linux `get_scsi_pt_transport_err_str()`.
    public static func transportError(hostStatus: UInt16, driverStatus: UInt16) -> String {
        var text = ""
        if hostStatus != 0 {
            if Int(hostStatus) < linuxHostBytes.count {
                text += "Host_status=0x\(Hex.twoDigits(Int(hostStatus))) [\(linuxHostBytes[Int(hostStatus)])]\n"
            } else {
                text += "Host_status=0x\(Hex.twoDigits(Int(hostStatus))) is invalid\n"
            }
        }
        let driver = Int(driverStatus & 0x0F)
        let name = driver < linuxDriverBytes.count ? linuxDriverBytes[driver] : "invalid"
        text += "Driver_status=0x\(Hex.twoDigits(Int(driverStatus))) [\(name)]\n"
        return text
    }

    // MARK: TransportIDs

    /// `sg_decode_transportid_str(leadIn, bp, bplen, only_one = true, 1024, b)`: `memory` starts at the
    /// TransportID and holds what follows it; `length` is the length the caller claims.
    public static func transportID(leadIn lip: String, _ memory: [UInt8], length: Int = 256) -> String {
        guard length > 0 else { return "" }
        var out = ""
        if length < 24 || length % 4 != 0 {
            out += "\(lip)Transport Id short or not multiple of 4 [length=1024]:\n"
        } else {
            out += "\(lip)Transport Id of initiator:\n"
        }
        let first = byte(memory, 0)
        let format = Int(first >> 6) & 0x3
        let protocolIdentifier = first & 0x0F
        let normalLength = min(length, 24)
        let slice = memory[...]
        func unexpectedFormat() {
            if format != 0 { out += "\(lip)  [Unexpected TPID format: \(format)]\n" }
        }
        func dump(from offset: Int, count: Int, format: Int = 1) {
            let start = min(offset, memory.count)
            out += hexString(slice[start...], count: count, leadIn: lip, format: format)
        }
        switch protocolIdentifier {
        case TransportID.ProtocolIdentifier.fibreChannel:
            out += "\(lip)  FCP-2 World Wide Name:\n"
            unexpectedFormat()
            dump(from: 8, count: 8)
        case 0x1:
            out += "\(lip)  Parallel SCSI initiator SCSI address: 0x\(hex(be16(memory, 2)))\n"
            unexpectedFormat()
            out += "\(lip)  relative port number (of corresponding target): 0x\(hex(be16(memory, 6)))\n"
        case 0x2:
            out += "\(lip)  SSA (transport id not defined):\n\(lip)  TPID format: \(format)\n"
            dump(from: 0, count: normalLength)
        case TransportID.ProtocolIdentifier.sbp:
            out += "\(lip)  IEEE 1394 EUI-64 name:\n"
            unexpectedFormat()
            dump(from: 8, count: 8)
        case TransportID.ProtocolIdentifier.srp:
            out += "\(lip)  RDMA initiator port identifier:\n"
            unexpectedFormat()
            dump(from: 8, count: 16)
        case TransportID.ProtocolIdentifier.iscsi:
            out += "\(lip)  iSCSI "
            let count = Int(be16(memory, 2))
            let text = cText(memory.dropFirst(4), count: count)
            switch format {
            case 0: out += "name: \(text)\n"
            case 1: out += "world wide unique port id: \(text)\n"
            default:
                out += "  [Unexpected TPID format: \(format)]\n"
                dump(from: 0, count: count + 4, format: 0)
            }
        case TransportID.ProtocolIdentifier.sas:
            out += "\(lip)  SAS address: 0x\(hex(be64(memory, 4)))\n"
            unexpectedFormat()
        case 0x7, 0x8, 0x9, 0xB:
            let name = [0x7: "ADT", 0x8: "ATAPI", 0x9: "UAS", 0xB: "PCIE"][Int(protocolIdentifier)] ?? ""
            out += "\(lip)  \(name):\n\(lip)  TPID format: \(format)\n"
            dump(from: 0, count: normalLength)
        case 0xA:
            out += "\(lip)  SOP "
            if format == 0 {
                out += "Routing ID: 0x\(hex(be16(memory, 2)))\n"
            } else {
                out += "  [Unexpected TPID format: \(format)]\n"
                dump(from: 0, count: normalLength)
            }
        case 0xF:
            out += "\(lip)  No specified protocol\n"
        default:
            out += "\(lip)  unknown protocol id=0x\(hex(protocolIdentifier))  TPID format=\(format)\n"
            dump(from: 0, count: normalLength)
        }
        return truncated(out, to: 1023)
    }

    // MARK: sense data

    /// `sg_err_category_sense()`: the exit status a sense buffer maps to.
    public static func senseCategory(_ sense: [UInt8]) -> Int32 {
        guard sense.count > 2, let header = normalizedSense(sense) else { return PersistExit.otherSense }
        switch header.key {
        case 0x0: return PersistExit.noSense
        case 0x1: return PersistExit.recovered
        case 0x2: return PersistExit.notReady
        case 0x3, 0x4, 0x8: return PersistExit.mediumHard
        case 0x6: return PersistExit.unitAttention
        case 0x5:
            if header.asc == 0x20 && header.ascq == 0 { return PersistExit.invalidOperationCode }
            if header.asc == 0x21 && header.ascq == 0 { return PersistExit.lbaOutOfRange }
            return PersistExit.illegalRequest
        case 0xB: return header.asc == 0x10 ? PersistExit.protection : PersistExit.abortedCommand
        case 0xE: return PersistExit.miscompare
        case 0x7: return PersistExit.dataProtect
        case 0xA: return PersistExit.copyAborted
        default: return PersistExit.otherSense
        }
    }

    /// `sg_scsi_normalize_sense()`.
    static func normalizedSense(_ sense: [UInt8]) -> (responseCode: UInt8, key: UInt8, asc: UInt8, ascq: UInt8)? {
        guard let first = sense.first else { return nil }
        let responseCode = first & 0x7F
        guard (0x70...0x73).contains(responseCode) else { return nil }
        if responseCode >= 0x72 {
            return (responseCode, sense.count > 1 ? sense[1] & 0x0F : 0, sense.count > 2 ? sense[2] : 0,
                    sense.count > 3 ? sense[3] : 0)
        }
        var length = sense.count
        var asc: UInt8 = 0, ascq: UInt8 = 0
        if length > 7 {
            length = min(length, Int(sense[7]) + 8)
            if length > 12 { asc = sense[12] }
            if length > 13 { ascq = sense[13] }
        }
        return (responseCode, sense.count > 2 ? sense[2] & 0x0F : 0, asc, ascq)
    }

    /// `sg_get_asc_ascq_str()`: "Additional sense: ..." from PRCore's table, or the hex form.
    static func additionalSense(asc: UInt8, ascq: UInt8) -> String {
        if let text = AdditionalSense.knownDescription(asc: asc, ascq: ascq) { return "Additional sense: " + text }
        return AdditionalSense(asc: asc, ascq: ascq).description
    }

    static func senseKeyName(_ key: UInt8) -> String { SenseKey(rawValue: key & 0x0F).name }

    /// `sg_get_sense_str(leadIn, sense, len, raw, 512, b)` as sg_cmds_process_helper prints it.
    public static func sense(_ sense: [UInt8], leadIn lip: String = "", raw: Bool, limit: Int = 511) -> String {
        var out = ""
        guard !sense.isEmpty else { return truncated("\(lip) >>> sense buffer empty\n", to: limit) }
        let valid = sense[0] & 0x80 != 0
        let responseCode = sense[0] & 0x7F
        var skipRaw = false
        if let header = normalizedSense(sense) {
            var descriptorFormat = false
            var overflow = false
            var length = sense.count
            let label: String
            switch header.responseCode {
            case 0x70, 0x71:
                label = header.responseCode == 0x70 ? "Fixed format, current" : "Fixed format, <<<deferred>>>"
                length = sense.count > 7 ? min(Int(sense[7]) + 8, sense.count) : sense.count
                overflow = length > 2 ? sense[2] & 0x10 != 0 : false
            default:
                descriptorFormat = true
                label = header.responseCode == 0x72 ? "Descriptor format, current" : "Descriptor format, <<<deferred>>>"
                overflow = sense.count > 4 ? sense[4] & 0x80 != 0 : false
            }
            out += "\(lip)\(label); Sense key: \(senseKeyName(header.key))\n"
            if overflow { out += "\(lip)<<<Sense data overflow (SDAT_OVFL)>>>\n" }
            if descriptorFormat {
                out += "\(lip)\(additionalSense(asc: header.asc, ascq: header.ascq))\n"
                out += senseDescriptors(sense, leadIn: lip, length: length)
            } else if length > 12 && header.asc == 0 && header.ascq == 0x1D {
                out += "\(lip)\(additionalSense(asc: header.asc, ascq: header.ascq))\n"
                out += ataPassThroughFixed(sense, leadIn: lip, length: length)
            } else if length > 2 {
                if length > 12 { out += "\(lip)\(additionalSense(asc: header.asc, ascq: header.ascq))\n" }
                var extra = lip
                var info: UInt32 = 0
                if length > 6 {
                    info = be32(sense, 3)
                    if valid {
                        extra += "  Info fld=0x\(hex(info)) [\(info)] "
                    } else if info > 0 {
                        extra += "  Valid=0, Info fld=0x\(hex(info)) [\(info)] "
                    }
                }
                if sense[2] & 0xE0 != 0 {
                    if sense[2] & 0x80 != 0 { extra += " FMK" }
                    if sense[2] & 0x40 != 0 { extra += " EOM" }
                    if sense[2] & 0x20 != 0 { extra += " ILI" }
                    extra += "\n"
                } else if valid || info > 0 {
                    extra += "\n"
                }
                if length >= 14, byte(sense, 14) != 0 { extra += "\(lip)  Field replaceable unit code: \(byte(sense, 14))\n" }
                if length >= 18, sense[15] & 0x80 != 0 {
                    extra += fixedSenseKeySpecific(sense, key: header.key, leadIn: lip)
                }
                out += truncated(extra, to: 255)
            } else {
                out += "\(lip) fixed descriptor length too short, len=\(length)\n"
            }
        } else if sense.count < 4 {
            out += "\(lip)sense buffer too short (4 byte minimum)\n"
        } else if responseCode == 0x7F {
            out += "\(lip)Vendor specific sense buffer, in hex:\n"
            out += hexString(sense[...], count: sense.count, leadIn: lip, format: -1)
            skipRaw = true
        } else {
            var text = "\(lip)Probably uninitialized data.\n\(lip)  Try to view as SCSI-1 non-extended sense:\n"
            text += "  AdValid=\(valid ? 1 : 0)  Error class=\((sense[0] >> 4) & 0x7)  Error code=\(sense[0] & 0xF)\n"
            if valid { text += "\(lip)  lba=0x\(hex(be24(sense, 1) & 0x1F_FFFF))\n" }
            out += text + "\n"
        }
        if raw && !skipRaw {
            out += "\(lip) Raw sense data (in hex), sb_len=\(sense.count)"
            let embedded: Int
            if sense.count > 7, (0x70..<0x74).contains(sense[0]) {
                embedded = Int(sense[7]) + 8
                out += ", embedded_len=\(embedded)\n"
            } else {
                embedded = sense.count
                out += "\n"
            }
            let lead = String(decoding: Array(lip.utf8).prefix(50), as: UTF8.self) + "        "
            out += hexString(sense[...], count: embedded, leadIn: lead, format: -1)
        }
        return truncated(out, to: limit)
    }

    /// The sense-key-specific line of fixed-format sense.
    private static func fixedSenseKeySpecific(_ sense: [UInt8], key: UInt8, leadIn lip: String) -> String {
        let sks = sense[15]
        switch key {
        case 0x5:
            var text = "\(lip)  Sense Key Specific: Error in \(sks & 0x40 != 0 ? "Command" : "Data parameters"): byte \(be16(sense, 16))"
            text += sks & 0x08 != 0 ? " bit \(sks & 0x07)\n" : "\n"
            return text
        case 0x0, 0x2:
            return "\(lip)  Progress indication: \(progress(be16(sense, 16)))\n"
        case 0x1, 0x3, 0x4:
            return "\(lip)  Actual retry count: 0x\(Hex.twoDigits(byte(sense, 16)))\(Hex.twoDigits(byte(sense, 17)))\n"
        case 0xA:
            var text = "\(lip)  Segment pointer: Relative to start of \(sks & 0x20 != 0 ? "segment descriptor" : "parameter list"), byte \(be16(sense, 16))"
            text += sks & 0x08 != 0 ? " bit \(sks & 0x07)\n" : "\n"
            return text
        case 0x6:
            return "\(lip)  Unit attention condition queue: overflow flag is \(sks & 0x1)\n"
        default:
            return "\(lip)  Sense_key: 0x\(hex(key)) unexpected\n"
        }
    }

    private static func progress(_ value: UInt16) -> String {
        let scaled = Int(value) * 100
        let percent = scaled / 65536
        let remainder = (scaled % 65536) / 656
        return "\(percent).\(remainder < 10 ? "0" : "")\(remainder)%"
    }

    /// `sg_get_sense_sat_pt_fixed_str()`.
    private static func ataPassThroughFixed(_ sense: [UInt8], leadIn lip: String, length: Int) -> String {
        guard length >= 12 else { return "" }
        var out = ""
        if sense[2] & 0x0F != 0x1 { out += "\(lip)  >> expected Sense key: Recovered Error ??\n" }
        let extend = sense[8] & 0x80 != 0
        let countUpper = sense[8] & 0x40 != 0
        let lbaUpper = sense[8] & 0x20 != 0
        out += "\(lip)  error=0x\(hex(sense[3])), status=0x\(hex(sense[4])), device=0x\(hex(sense[5])), count(7:0)=0x\(hex(sense[6]))\(countUpper ? "+" : " ")\n"
        out += "\(lip)  extend=\(extend ? 1 : 0), log_index=0x\(hex(sense[8] & 0xF)), lba_high,mid,low(7:0)=0x\(hex(sense[9])),0x\(hex(sense[10])),0x\(hex(sense[11]))\(lbaUpper ? "+" : " ")\n"
        return out
    }

    /// `decode_sks()` for a sense key specific descriptor.
    private static func descriptorSenseKeySpecific(_ d: [UInt8], additionalLength: Int, key: UInt8, leadIn lip: String,
                                                   processed: inout Bool) -> String {
        let tooShort = "   >> descriptor too short\n"
        switch key {
        case 0x5:
            if additionalLength < 6 {
                processed = false
                return "Field pointer: " + tooShort
            }
            var text = "Field pointer:\n\(lip)        Error in \(byte(d, 4) & 0x40 != 0 ? "Command" : "Data parameters"): byte \(be16(d, 5))"
            text += byte(d, 4) & 0x08 != 0 ? " bit \(byte(d, 4) & 0x07)\n" : "\n"
            return text
        case 0x4, 0x3, 0x1:
            if additionalLength < 6 {
                processed = false
                return "Actual retry count: " + tooShort
            }
            return "Actual retry count: \(be16(d, 5))\n"
        case 0x0, 0x2:
            if additionalLength < 6 {
                processed = false
                return "Progress indication: " + tooShort
            }
            return "Progress indication: \(progress(be16(d, 5)))\n"
        case 0xA:
            if additionalLength < 6 {
                processed = false
                return "Segment pointer:\n" + tooShort
            }
            var text = "Segment pointer:\n\(lip)        Relative to start of \(byte(d, 4) & 0x20 != 0 ? "segment descriptor" : "parameter list"), byte \(be16(d, 5))"
            text += byte(d, 4) & 0x08 != 0 ? " bit \(byte(d, 4) & 0x07)\n" : "\n"
            return text
        case 0x6:
            return "Unit attention condition queue:\n\(lip)        overflow flag is \(byte(d, 4) & 0x1)\n"
        default:
            processed = false
            return "Sense_key: 0x\(hex(key)) unexpected\n"
        }
    }

    /// `sg_get_sense_descriptors_str()`.
    private static func senseDescriptors(_ sense: [UInt8], leadIn lip: String, length: Int) -> String {
        guard length >= 8 else { return "" }
        var additional = Int(sense[7])
        guard additional > 0 else { return "" }
        additional = min(additional, length - 8)
        let key = sense[1] & 0x0F
        let tooShort = "   >> descriptor too short"
        var out = ""
        var k = 0
        var offset = 8
        while k < additional {
            let d = Array(sense[min(offset, sense.count)...])
            var dlen = k < additional - 1 ? Int(byte(d, 1)) : -1
            if k + dlen + 2 > additional { dlen = additional - k - 2 }
            let descriptorLength = dlen + 2
            out += "\(lip)  Descriptor type: "
            var processed = true
            let type = byte(d, 0)
            switch type {
            case 0:
                out += "Information: "
                if dlen >= 10 {
                    if byte(d, 2) & 0x80 == 0 { out += "Valid=0 (-> vendor specific) " }
                    out += "0x" + (4..<12).map { Hex.twoDigits(byte(d, $0)) }.joined() + "\n"
                } else {
                    out += tooShort + "\n"
                    processed = false
                }
            case 1:
                out += "Command specific: "
                if dlen >= 10 {
                    out += "0x" + (4..<12).map { Hex.twoDigits(byte(d, $0)) }.joined() + "\n"
                } else {
                    out += tooShort + "\n"
                    processed = false
                }
            case 2:
                out += "Sense key specific: "
                out += descriptorSenseKeySpecific(d, additionalLength: dlen, key: key, leadIn: lip, processed: &processed)
            case 3:
                out += "Field replaceable unit code: "
                if dlen >= 2 {
                    out += "0x\(hex(byte(d, 3)))\n"
                } else {
                    out += tooShort + "\n"
                    processed = false
                }
            case 4:
                out += "Stream commands: "
                if dlen >= 2 {
                    if byte(d, 3) & 0x80 != 0 { out += "FILEMARK" }
                    if byte(d, 3) & 0x40 != 0 { out += "End Of Medium (EOM)" }
                    if byte(d, 3) & 0x20 != 0 { out += "Incorrect Length Indicator (ILI)" }
                    out += "\n"
                } else {
                    out += tooShort + "\n"
                    processed = false
                }
            case 5:
                out += "Block commands: "
                if dlen >= 2 {
                    out += "Incorrect Length Indicator (ILI) \(byte(d, 3) & 0x20 != 0 ? "set" : "clear")\n"
                } else {
                    out += tooShort + "\n"
                    processed = false
                }
            case 6:
                out += "OSD object identification\n"
                processed = false
            case 7:
                out += "OSD response integrity check value\n"
                processed = false
            case 8:
                out += "OSD attribute identification\n"
                processed = false
            case 9:
                out += "ATA Status Return: "
                if dlen >= 12 {
                    let extend = byte(d, 2) & 1
                    let count = Int(byte(d, 5)) + (extend != 0 ? Int(byte(d, 4)) << 8 : 0)
                    out += "extend=\(extend) error=0x\(hex(byte(d, 3))) \n\(lip)        count=0x\(hex(count)) "
                    if extend != 0 {
                        out += "lba=0x" + [10, 8, 6, 11, 9, 7].map { Hex.twoDigits(byte(d, $0)) }.joined() + " "
                    } else {
                        out += "lba=0x" + [11, 9, 7].map { Hex.twoDigits(byte(d, $0)) }.joined() + " "
                    }
                    out += "device=0x\(hex(byte(d, 12))) status=0x\(hex(byte(d, 13)))\n"
                } else {
                    out += tooShort + "\n"
                    processed = false
                }
            case 0xA:
                out += "Another progress indication: "
                if dlen < 6 {
                    out += tooShort + "\n"
                    processed = false
                } else {
                    // sg3_utils prints this one with a "%d.02%d%%" typo; kept.
                    let scaled = Int(be16(d, 6)) * 100
                    out += "\(scaled / 65536).02\((scaled % 65536) / 656)%\n"
                    out += "\(lip)        [sense_key=0x\(hex(byte(d, 2))) asc,ascq=0x\(hex(byte(d, 3))),0x\(hex(byte(d, 4)))]\n"
                }
            case 0xB:
                out += "User data segment referral: "
                if dlen < 2 {
                    out += tooShort + "\n"
                    processed = false
                } else {
                    out += "\n" + userDataSegmentReferral(d, additionalLength: dlen, leadIn: lip)
                }
            case 0xC:
                out += "Forwarded sense data\n"
                if dlen < 2 {
                    out += tooShort + "\n"
                    processed = false
                } else {
                    out += "\(lip)    FSDT: \(byte(d, 2) & 0x80 != 0 ? "set" : "clear")\n"
                    let source = Int(byte(d, 2) & 0xF)
                    out += "\(lip)    Sense data source: "
                    switch source {
                    case 0: out += "Extended copy command source device\n"
                    case 1...7: out += "Extended copy command destination device \(source - 1)\n"
                    default: out += "unknown [\(source)]\n"
                    }
                    out += "\(lip)    Forwarded status: \(scsiStatus(byte(d, 3)))\n"
                    if dlen > 2 {
                        out += "\(lip) vvvvvvvvvvvvvvvv\n"
                        let inner = Array(d.dropFirst(4).prefix(dlen - 2))
                        out += PersistText.sense(inner, leadIn: lip, raw: false, limit: 479)
                        out += "\(lip) ^^^^^^^^^^^^^^^^\n"
                    }
                }
            case 0xD:
                out += "Direct-access block device\n"
                if dlen < 28 {
                    out += tooShort + "\n"
                    processed = false
                } else {
                    if byte(d, 2) & 0x20 != 0 { out += "\(lip)    ILI (incorrect length indication) set\n" }
                    if byte(d, 4) & 0x80 != 0 {
                        out += "\(lip)    Sense key specific: "
                        out += descriptorSenseKeySpecific(d, additionalLength: dlen, key: key, leadIn: lip, processed: &processed)
                    }
                    out += "\(lip)    Field replaceable unit code: 0x\(hex(byte(d, 7)))\n"
                    if byte(d, 2) & 0x80 != 0 {
                        out += "\(lip)    Information: 0x" + (8..<16).map { Hex.twoDigits(byte(d, $0)) }.joined() + "\n"
                    }
                    out += "\(lip)    Command specific: 0x" + (16..<24).map { Hex.twoDigits(byte(d, $0)) }.joined() + "\n"
                }
            case 0xE:
                // Device designation (SPC-5): the designator itself is not decoded here (see report).
                out += "Device designation\n"
                let reasons = ["Unknown", "resend this and further commands to:", "resend this command to:",
                               "new subsiduary lu added to this administrative lu:",
                               "administrative lu associated with a preferred binding:"]
                let reason = Int(byte(d, 3))
                out += reason < reasons.count ? "\(lip)    Usage reason: \(reasons[reason])\n" : "\(lip)    Usage reason: reserved[\(reason)]\n"
            case 0xF:
                out += "Microcode activation "
                if dlen < 6 {
                    out += tooShort + "\n"
                    processed = false
                } else {
                    let time = be16(d, 6)
                    out += "time: " + (time == 0 ? "unknown\n" : "\(time) seconds\n")
                }
            case 0xDE:
                out += "NVMe Status: "
                if dlen < 6 {
                    out += tooShort + "\n"
                    processed = false
                } else {
                    out += "DNR=\(byte(d, 5) & 0x80 != 0 ? 1 : 0), M=\(byte(d, 5) & 0x40 != 0 ? 1 : 0), SCT_SC=0x\(hex(be16(d, 6)))\n"
                }
            default:
                out += type >= 0x80 ? "Vendor specific [0x\(hex(type))]\n" : "Unknown [0x\(hex(type))]\n"
                processed = false
            }
            if !processed, dlen > 0 {
                out += "\(lip)    "
                for j in 0..<dlen {
                    if j > 0 && j % 24 == 0 { out += "\n\(lip)    " }
                    out += Hex.twoDigits(byte(d, j + 2)) + " "
                }
                out += "\n"
            }
            if dlen < 0 { out += "\(lip)    short descriptor\n" }
            k += descriptorLength
            offset += descriptorLength
            if descriptorLength <= 0 { break }
        }
        return out
    }

    private static func userDataSegmentReferral(_ d: [UInt8], additionalLength: Int, leadIn lip: String) -> String {
        var out = "\(lip)   Not all referrals: \(byte(d, 2) & 0x1)\n"
        let dlen = additionalLength - 2
        var k = 0
        var f = 1
        var base = 4
        while k + 4 < dlen {
            let groups = Int(byte(d, base + 3))
            let g = groups * 4 + 20
            out += "\(lip)    Descriptor \(f)\n"
            if k + g > dlen {
                out += "\(lip)      truncated descriptor, stop\n"
                return out
            }
            out += "\(lip)      first uds LBA: 0x\(hex(be64(d, base + 4)))\n"
            out += "\(lip)      last uds LBA:  0x\(hex(be64(d, base + 12)))\n"
            for j in 0..<groups {
                let t = base + 20 + j * 4
                let state = byte(d, t) & 0xF
                let names: [UInt8: String] = [0: "active/optimized", 1: "active/non optimized", 2: "standby",
                                              3: "unavailable", 0xE: "offline", 0xF: "transitioning between states"]
                out += "\(lip)        tpg: \(be16(d, t + 2))  state: \(names[state] ?? "unknown: 0x\(hex(state))")\n"
            }
            k += g
            base += g
            f += 1
        }
        return out
    }
}
