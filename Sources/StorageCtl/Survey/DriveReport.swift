import BaculaConfig
import PRCore

/// The four renderings of a `DriveSurvey`, one function each: the listing an admin reads (`drives`),
/// its JSON document (`drives --json`), the Nagios/Icinga plugin output (`check`) and the Prometheus
/// text exposition (`drives --prometheus`, for node_exporter's textfile collector). What a drive said
/// (names, paths, INQUIRY strings) is escaped in each with the escaping that format needs.
enum DriveReport {
    // MARK: drives

    /// One block per drive, a blank line between: the drive's name, then one `  label  value` line per
    /// fact, so a missing or failing drive is a block like the others, with an `error` line.
    static func text(_ survey: DriveSurvey, settings: Settings) -> String {
        survey.rows.map { row in
            var lines = [OutputText.escaped(row.drive.name) + (row.drive.autochanger.map { "  (Autochanger \(OutputText.escaped($0)))" } ?? "")]
            func add(_ label: String, _ value: String) { lines.append("  " + StorageCtlMain.pad(label, 16) + value) }
            add("archive device", row.drive.archiveDevice.map { OutputText.escaped($0) } ?? "-")
            add("control device", OutputText.escaped(row.drive.controlDevice))
            var lockCommand = row.drive.lockCommand.map { OutputText.escaped($0) } ?? "none"
            if case .autochanger(let changer) = row.drive.lockCommandSource { lockCommand += "  (from Autochanger \(OutputText.escaped(changer)))" }
            add("lock command", lockCommand)
            if let error = row.error {
                add("error", OutputText.oneLine(error))
            } else {
                if let inquiry = row.inquiry {
                    add("device", [inquiry.vendor, inquiry.product, inquiry.revision].map { OutputText.escaped($0) }.joined(separator: " ")
                        + " (\(inquiry.peripheralDeviceType.name))")
                }
                add("keys", row.keys.isEmpty ? "none" : row.keys.map(settings.label).joined(separator: ", "))
                add("holder", holderText(row, settings: settings))
                add("this host", thisHost(row, settings: settings))
                if !row.waiters.isEmpty {
                    add("waiting", row.waiters.map { settings.label($0.owner) }.joined(separator: ", ") + "  (in line, oldest first)")
                }
                if !row.unknownKeys.isEmpty {
                    add("unknown keys", row.unknownKeys.map(\.description).joined(separator: ", ") + "  (not in storage-ctl.conf)")
                }
            }
            if !row.sharesControlDeviceWith.isEmpty {
                add("note", "Control Device shared with " + row.sharesControlDeviceWith.map { OutputText.escaped($0) }.joined(separator: ", "))
            }
            if row.drive.lockCommand != nil && !row.lockCommandIsStorageCtl { add("note", "the Lock Command does not run storage-ctl") }
            return lines.joined(separator: "\n") + "\n"
        }.joined(separator: "\n")
    }

    static func holderText(_ row: DriveSurvey.Row, settings: Settings) -> String {
        guard let reservation = row.reservation else { return "none" }
        if reservation.type.isAllRegistrants { return "all registrants (\(reservation.type.name))" }
        return settings.label(reservation.key)
    }

    /// `status`'s fields for this host: `key=0xbac001 registered=1 locked=1 heldfor=120`.
    static func thisHost(_ row: DriveSurvey.Row, settings: Settings) -> String {
        guard let key = settings.key, let registered = row.registered, let locked = row.locked else {
            return "no key configured (key= in storage-ctl.conf)"
        }
        var text = "key=\(key) registered=\(registered ? 1 : 0) locked=\(locked ? 1 : 0)"
        if row.keyInitiators > 0 { text += " keyinitiators=\(row.keyInitiators)" }
        if !row.livePaths.isEmpty { text += " paths=\(row.pathsWithOurKey)" }
        if !row.stalePaths.isEmpty { text += " stalepaths=\(row.stalePaths.count)" }
        if let heldFor = row.heldFor { text += " heldfor=\(heldFor)" }
        return text
    }

    // MARK: drives --json

    static func json(_ survey: DriveSurvey, settings: Settings) -> JSON {
        let key = settings.keyJSON
        let drives: [JSON] = survey.rows.map { row in
            let source: JSON
            switch row.drive.lockCommandSource {
            case .device: source = .string("device")
            case .autochanger: source = .string("autochanger")
            case .none: source = .null
            }
            var holder = JSON.null
            if let reservation = row.reservation {
                holder = reservation.type.isAllRegistrants ? .string("all-registrants") : key(reservation.key)
            }
            return .object([
                ("name", .string(row.drive.name)),
                ("archive_device", .optional(row.drive.archiveDevice)),
                ("control_device", .string(row.drive.controlDevice)),
                ("lock_command", .optional(row.drive.lockCommand)),
                ("lock_command_from", source),
                ("lock_command_is_storage_ctl", .bool(row.lockCommandIsStorageCtl)),
                ("autochanger", .optional(row.drive.autochanger)),
                ("file", .string(row.drive.file)),
                ("line", .int(Int64(row.drive.line))),
                ("shares_control_device_with", .array(row.sharesControlDeviceWith.map { .string($0) })),
                ("up", .bool(row.isUp)),
                ("error", .optional(row.error)),
                ("vendor", .optional(row.inquiry?.vendor)),
                ("product", .optional(row.inquiry?.product)),
                ("revision", .optional(row.inquiry?.revision)),
                ("peripheral_type", .optional(row.inquiry?.peripheralDeviceType.name)),
                ("keys", .array(row.keys.map(key))),
                ("unknown_keys", .array(row.unknownKeys.map(key))),
                ("reserved", row.isUp ? .bool(row.reservation != nil) : .null),
                ("holder", holder),
                ("type", row.reservation.map { .int(Int64($0.type.rawValue)) } ?? .null),
                ("type_name", .optional(row.reservation?.type.name)),
                ("registered", row.registered.map { .bool($0) } ?? .null),
                ("locked", row.locked.map { .bool($0) } ?? .null),
                ("held_for", row.heldFor.map { .int($0) } ?? .null),
                ("waiters", .array(row.waiters.map { key($0.owner) })),
            ])
        }
        return .object([("config", .string(survey.configPath)),
                        ("key", settings.key.map(key) ?? .null),
                        ("drives", .array(drives))])
    }

    // MARK: check (Nagios / Icinga plugin)

    /// The plugin states, with the exit status the Nagios plugin guidelines give each.
    enum PluginState: Int32 {
        case ok = 0, warning = 1, critical = 2, unknown = 3
        var word: String { ["OK", "WARNING", "CRITICAL", "UNKNOWN"][Int(rawValue)] }
    }

    /// `check`'s limits on how long this host may hold a drive (`--held-warning`, `--held-critical`), seconds.
    struct Limits: Equatable {
        var heldWarning: Double?
        var heldCritical: Double?
    }

    /// `STORAGE-CTL CRITICAL - summary | perfdata`, then one line per drive (the plugin's long output).
    /// CRITICAL: a drive that cannot be asked, a registered key storage-ctl.conf does not name, a lock this
    /// host has held for `--held-critical` seconds or more. WARNING: held for `--held-warning` or more.
    /// `recordsOff`: why this host keeps no lock records: a WARNING when `--held-*` asked for what cannot
    /// then be measured, else a line of the long output.
    static func check(_ survey: DriveSurvey, settings: Settings, limits: Limits,
                      recordsOff: String? = nil) -> (text: String, state: PluginState) {
        var critical: [String] = []
        var warning: [String] = []
        if let recordsOff, limits.heldWarning != nil || limits.heldCritical != nil { warning.append(recordsOff) }
        let down = survey.unreachable
        if !down.isEmpty {
            critical.append("\(down.count) of \(survey.rows.count) drive\(survey.rows.count == 1 ? "" : "s") unreachable (\(down.map { OutputText.escaped($0.drive.name) }.joined(separator: ", ")))")
        }
        for row in survey.withUnknownKeys {
            critical.append("\(OutputText.escaped(row.drive.name)): unknown key\(row.unknownKeys.count == 1 ? "" : "s") \(row.unknownKeys.map(\.description).joined(separator: ", ")) registered")
        }
        // one key through several initiators, what `audit` finds too: one key= on two hosts, whose `lock`s
        // can both succeed; and our key registered through another initiator than this host's
        for row in survey.rows where row.isUp {
            let name = OutputText.escaped(row.drive.name)
            let shared = row.keysOnSeveralHosts
            for (key, count) in shared {
                critical.append("\(name): key \(settings.label(key)) registered through \(count) initiators (one key= on two hosts?)")
            }
            if let key = settings.key, row.keyInitiators > 0, !shared.contains(where: { $0.key == key }) {
                critical.append("\(name): our key \(settings.label(key)) is registered through another initiator (key= copied to another host?)")
            }
            // paths of this host that are gone: harmless until then, removed by the next lock or unlock
            if let key = settings.key, !row.stalePaths.isEmpty {
                warning.append("\(name): our key \(settings.label(key)) is registered through \(row.stalePaths.count) path\(row.stalePaths.count == 1 ? "" : "s") of this host that \(row.stalePaths.count == 1 ? "is" : "are") gone (\(row.stalePaths.map(\.description).joined(separator: ", "))); the next lock or unlock removes \(row.stalePaths.count == 1 ? "it" : "them")")
            }
        }
        for row in survey.rows {
            guard let heldFor = row.heldFor else { continue }
            let held = "\(OutputText.escaped(row.drive.name)): held by this host for \(heldFor) s"
            if let limit = limits.heldCritical, Double(heldFor) >= limit {
                critical.append(held + " (critical at \(seconds(limit)) s)")
            } else if let limit = limits.heldWarning, Double(heldFor) >= limit {
                warning.append(held + " (warning at \(seconds(limit)) s)")
            }
        }
        let state: PluginState = !critical.isEmpty ? .critical : !warning.isEmpty ? .warning : .ok
        let reserved = survey.rows.filter { $0.reservation != nil }.count
        let ours = survey.rows.filter { $0.locked == true }.count
        var summary = critical + warning
        if state == .ok {
            summary = ["\(survey.rows.count) drive\(survey.rows.count == 1 ? "" : "s"), \(reserved) locked (\(ours) by this host)"]
        }
        var perfdata = [
            perf("drives", survey.rows.count, min: 0),
            perf("unreachable", down.count, critical: "0", min: 0),
            perf("unknown_keys", survey.rows.reduce(0) { $0 + $1.unknownKeys.count }, critical: "0", min: 0),
            perf("locked", reserved, min: 0, max: survey.rows.count),
        ]
        for row in survey.rows where row.isUp {
            perfdata.append(perf("\(row.drive.name) keys", row.keys.count, min: 0))
            // held by this host with no lock record: unknown, no value (as drive_held_seconds), not 0 s
            if let locked = row.locked, !locked || row.heldFor != nil {
                perfdata.append(perf("\(row.drive.name) held_for", Int(row.heldFor ?? 0), unit: "s",
                                     warning: limits.heldWarning.map(seconds), critical: limits.heldCritical.map(seconds), min: 0))
            }
        }
        var text = "STORAGE-CTL \(state.word) - \(pluginText(summary.joined(separator: "; "))) | \(perfdata.joined(separator: " "))\n"
        for row in survey.rows { text += pluginText(checkLine(row, settings: settings)) + "\n" }
        if let recordsOff, limits.heldWarning == nil && limits.heldCritical == nil {
            text += pluginText(recordsOff) + "\n"
        }
        return (text, state)
    }

    /// The UNKNOWN result: `check` could not survey at all (usage, bacula-sd.conf, no drive).
    static func checkUnknown(_ reason: String) -> String {
        "STORAGE-CTL UNKNOWN - \(pluginText(reason))\n"
    }

    /// Text of the plugin's output other than performance data, on one line (`OutputText.oneLine`), with
    /// `|` written `\x7c`: Nagios takes the first `|` of the status line or of the long output for the
    /// start of performance data, and a path in an error may hold one.
    static func pluginText(_ text: String) -> String {
        OutputText.oneLine(text).replacingOccurrences("|", "\\x7c")
    }

    /// One drive in the plugin's long output.
    static func checkLine(_ row: DriveSurvey.Row, settings: Settings) -> String {
        let name = OutputText.escaped(row.drive.name)
        guard row.isUp else { return "\(name): unreachable: \(OutputText.oneLine(row.error ?? ""))" }
        var text = "\(name): \(row.keys.count) key\(row.keys.count == 1 ? "" : "s"), "
        text += row.reservation == nil ? "free" : "locked by \(holderText(row, settings: settings))"
        if let heldFor = row.heldFor { text += ", held by this host for \(heldFor) s" }
        if !row.waiters.isEmpty { text += ", \(row.waiters.count) waiting" }
        if !row.livePaths.isEmpty { text += ", our key through \(row.pathsWithOurKey) paths of this host" }
        return text
    }

    /// `'label'=value[unit];warn;crit;min;max`, trailing empty fields dropped. A label is quoted; a quote
    /// in it doubled, `=` (which ends a label) written as `_`.
    static func perf(_ label: String, _ value: Int, unit: String = "", warning: String? = nil, critical: String? = nil,
                     min: Int? = nil, max: Int? = nil) -> String {
        let quoted = OutputText.escaped(label).replacingOccurrences("'", "''").replacingOccurrences("=", "_")
        var fields = [warning ?? "", critical ?? "", min.map(String.init) ?? "", max.map(String.init) ?? ""]
        while fields.last == "" { fields.removeLast() }
        return "'\(quoted)'=\(value)\(unit)" + fields.map { ";" + $0 }.joined()
    }

    /// Seconds as the user gave them: `3600`, `0.5`.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() && value < 1e15 ? String(Int64(value)) : String(value)
    }

    // MARK: drives --prometheus

    /// Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` once per metric, then its samples,
    /// every metric a gauge named `storage_ctl_...`, labelled `drive` and `control_device`. A drive that
    /// could not be asked has `storage_ctl_drive_up 0` and no other sample (no made-up values).
    static func prometheus(_ survey: DriveSurvey, settings: Settings) -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Int64)]) {
            out += "# HELP storage_ctl_\(name) \(help)\n# TYPE storage_ctl_\(name) gauge\n"
            for sample in samples {
                let labels = sample.labels.map { "\($0.0)=\"\(labelValue($0.1))\"" }.joined(separator: ",")
                out += "storage_ctl_\(name){\(labels)} \(sample.value)\n"
            }
        }
        func drive(_ row: DriveSurvey.Row) -> [(String, String)] {
            [("drive", row.drive.name), ("control_device", row.drive.controlDevice)]
        }
        let up = survey.rows.filter(\.isUp)
        metric("drive_up", "1 if the drive's Control Device answered INQUIRY, READ KEYS and READ RESERVATION, else 0.",
               survey.rows.map { (drive($0), $0.isUp ? 1 : 0) })
        metric("drive_info", "The drive as bacula-sd.conf and INQUIRY describe it (always 1).",
               up.map { row in
                   (drive(row) + [("archive_device", row.drive.archiveDevice ?? ""), ("vendor", row.inquiry?.vendor ?? ""),
                                  ("product", row.inquiry?.product ?? ""), ("revision", row.inquiry?.revision ?? ""),
                                  ("lock_command", row.drive.lockCommand ?? "")], 1)
               })
        metric("drive_registered_keys", "Registrations on the drive (READ KEYS).", up.map { (drive($0), Int64($0.keys.count)) })
        metric("drive_unknown_keys", "Registered keys that storage-ctl.conf does not name (key=, host_<KEY>=).",
               up.map { (drive($0), Int64($0.unknownKeys.count)) })
        metric("drive_locked", "1 if the drive is reserved (by any host), else 0.", up.map { (drive($0), $0.reservation == nil ? 0 : 1) })
        metric("drive_holder_info", "The key holding the drive's reservation (always 1; no sample while the drive is free).",
               up.compactMap { row in
                   row.reservation.map { reservation in
                       let all = reservation.type.isAllRegistrants
                       return (drive(row) + [("holder", all ? "all-registrants" : reservation.key.description),
                                             ("holder_name", all ? "" : settings.name(of: reservation.key) ?? "")], 1)
                   }
               })
        if settings.key != nil {
            metric("drive_locked_by_this_host", "1 if this host's key holds the drive, else 0.",
                   up.map { (drive($0), $0.locked == true ? 1 : 0) })
            metric("drive_held_seconds", "Seconds this host has held the drive, by its lock record (no sample when it does not hold it or the record is missing).",
                   up.compactMap { row in row.heldFor.map { (drive(row), $0) } })
        }
        return out
    }

    /// A label value as the exposition format wants it: backslash, double quote and line feed escaped.
    static func labelValue(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

