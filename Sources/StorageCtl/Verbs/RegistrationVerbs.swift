import PRCore

/// `register`: registers our key on this nexus, or finds it already is (`Locker.register`). Never
/// replaces another key's registration on this nexus (exit 6): after a changed `key=`, the admin
/// moves over with `storage-ctl -k OLD DEVICE unregister` first.
struct RegisterVerb: NoArgumentVerb {
    static let name = "register"
    static let synopsis = "register"
    static let summary = "register our key (REGISTER; exit 6 if this initiator has another key)"
    static let changesState = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        try context.locker().register()
        return .ok
    }
}

/// `unregister`: REGISTER with our key and SARK 0 (`Locker.unregister`): removes our key's
/// registration from this nexus, never another key's (exit 6; `-k OTHER unregister` removes that
/// one). Unregistering the holder of a type 1/3/5/6 reservation releases it (SPC "Unregistering",
/// docs/pr-rules.md §2.1.1). Not registered is success.
struct UnregisterVerb: NoArgumentVerb {
    static let name = "unregister"
    static let synopsis = "unregister"
    static let summary = "remove our key's registration (releases the lock if we hold it)"
    static let changesState = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        try context.locker().unregister()
        return .ok
    }
}

/// `clear`: registers if needed, then CLEAR, which removes every registration and the
/// reservation. What was removed goes to stderr so the admin keeps a record.
struct ClearVerb: NoArgumentVerb {
    static let name = "clear"
    static let synopsis = "clear"
    static let summary = "remove every registration and the lock (CLEAR); stderr lists what was removed"
    static let changesState = true

    func run(_ context: VerbContext) throws(StorageCtlError) -> ExitCode {
        let locker = context.locker()
        let before = try context.device.readKeys()
        let holder = try locker.holder()
        try locker.register()
        try context.device.require(context.device.clear(key: context.key), .clear)
        let keys = before.keys.map { context.settings.label($0) }
        var record = "cleared: removed "
        record += keys.isEmpty ? "no registrations" : "registrations \(keys.joined(separator: ", "))"
        if let holder {
            // plain labels: here our own key as holder is just us (describe() is for busy messages)
            let who = holder.isAllRegistrants && holder.key.rawValue == 0 ? "all registrants" : context.settings.label(holder.key)
            record += "; removed the lock held by \(who) (\(holder.type.name))"
        } else {
            record += "; there was no lock"
        }
        context.note(record)
        return .ok
    }
}
