import PRCore

/// The text of `query` and `caps`: sg_persist's own layouts (one implementation, in
/// PersistOutput), with ` (name)` after keys named in the configuration.
enum QueryText {
    static func inquiryHeader(_ inquiry: StandardInquiryData) -> String {
        PersistOutput.inquiryHeader(inquiry)
    }

    static func fullStatus(_ status: ReadFullStatusResponse, label: (ReservationKey) -> String) -> String {
        PersistOutput.readFullStatus(status, keyLabel: label)
    }

    /// For devices without READ FULL STATUS: sg_persist's `-k` then `-r` output.
    static func keysAndReservation(_ keys: ReadKeysResponse, _ reservation: ReadReservationResponse,
                                   label: (ReservationKey) -> String) -> String {
        PersistOutput.readKeys(keys, keyLabel: label) + PersistOutput.readReservation(reservation, keyLabel: label)
    }

    static func capabilities(_ caps: ReportCapabilitiesResponse) -> String {
        PersistOutput.reportCapabilities(caps)
    }
}
