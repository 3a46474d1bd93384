import PRCore

/// `query`: INQUIRY + READ FULL STATUS in sg_persist's `-s` layout, with ` (name)` after named
/// keys; falls back to READ KEYS + READ RESERVATION where the device lacks READ FULL STATUS.
struct QueryVerb: NoArgumentVerb {
    static let name = "query"
    static let synopsis = "query"
    static let summary = "show every registration and the lock (READ FULL STATUS, sg_persist -s layout)"
    static let supportsJSON = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let inquiry = try context.device.inquiry()
        let status = try context.device.readFullStatus()
        var fallbackKeys: Registrations? = nil
        var fallbackReservation: ReservationState? = nil
        if status == nil {
            fallbackKeys = try context.device.readKeys()
            fallbackReservation = try context.device.readReservation()
        }
        if context.json {
            context.emit(QueryJSON.render(path: context.path, inquiry: inquiry, status: status,
                                          keys: fallbackKeys, reservation: fallbackReservation, settings: context.settings))
            return .ok
        }
        let label = context.settings.label
        var text = QueryText.inquiryHeader(inquiry)
        if let status {
            text += QueryText.fullStatus(status, label: label)
        } else if let keys = fallbackKeys, let reservation = fallbackReservation {
            text += QueryText.keysAndReservation(keys, reservation, label: label)
        }
        context.stdout += text
        return .ok
    }
}

/// `caps`: REPORT CAPABILITIES, decoded in sg_persist's `-c` layout.
struct CapsVerb: NoArgumentVerb {
    static let name = "caps"
    static let synopsis = "caps"
    static let summary = "what the device supports (REPORT CAPABILITIES, sg_persist -c layout)"
    static let supportsJSON = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let inquiry = try context.device.inquiry()
        let caps = try context.device.reportCapabilities()
        // -v and the debug log: which nexus this is, and this host's other paths (README "Several paths to one drive")
        context.tracer?.note(context.device.ownNexuses.summary)
        if context.json {
            context.emit(QueryJSON.render(path: context.path, inquiry: inquiry, capabilities: caps))
            return .ok
        }
        context.stdout += QueryText.inquiryHeader(inquiry) + QueryText.capabilities(caps)
        return .ok
    }
}
