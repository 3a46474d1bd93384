import PRCore
import SgText

/// The text of `query` and `caps`: sg_persist's own layouts (one implementation, in
/// PersistOutput), with ` (name)` after keys named in the configuration.
///
/// Unlike the sg_persist personality, which must print what sg_persist prints, storage-ctl's own
/// output never passes a device's control characters through: a vendor string or an iSCSI name
/// holding a newline or an escape sequence could forge a line (`Key=...`) or a terminal command.
/// Such strings are shown escaped (`\x0a`), everything else exactly as sg_persist shows it.
enum QueryText {
    static func inquiryHeader(_ inquiry: StandardInquiryData) -> String {
        let fields = [inquiry.vendor, inquiry.product, inquiry.revision]
        guard fields.contains(where: needsEscaping) else { return PersistOutput.inquiryHeader(inquiry) }
        return "  \(OutputText.escaped(inquiry.vendor))  \(OutputText.escaped(inquiry.product))  \(OutputText.escaped(inquiry.revision))\n"
            + "  Peripheral device type: \(inquiry.peripheralDeviceType.name)\n"
    }

    static func fullStatus(_ status: FullStatus, label: (ReservationKey) -> String) -> String {
        var safe = status.response
        safe.descriptors = status.descriptors.map { descriptor in
            var d = descriptor
            d.transportID = escapedTransportID(descriptor.transportID)
            return d
        }
        return PersistOutput.readFullStatus(safe, keyLabel: label)
    }

    /// For devices without READ FULL STATUS: sg_persist's `-k` then `-r` output.
    static func keysAndReservation(_ keys: Registrations, _ reservation: ReservationState,
                                   label: (ReservationKey) -> String) -> String {
        PersistOutput.readKeys(keys.response, keyLabel: label) + PersistOutput.readReservation(reservation.response, keyLabel: label)
    }

    static func capabilities(_ caps: ReservationCapabilities) -> String {
        PersistOutput.reportCapabilities(caps.asReport)
    }

    static func needsEscaping(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }
    }

    /// An iSCSI TransportID whose name holds control characters, rebuilt with the name escaped;
    /// other TransportIDs (binary addresses, printed in hex) unchanged.
    static func escapedTransportID(_ id: TransportID) -> TransportID {
        switch id.decoded {
        case .iscsiName(let name) where needsEscaping(name):
            return .iscsi(name: OutputText.escaped(name))
        case .iscsiPort(let name, let isid) where needsEscaping(name) || needsEscaping(isid):
            return .iscsi(name: OutputText.escaped(name) + ",i,0x" + OutputText.escaped(isid))
        default:
            return id
        }
    }
}
