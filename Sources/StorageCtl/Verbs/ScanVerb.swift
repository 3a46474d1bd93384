import Transports

/// `scan`: the SCSI devices sysfs knows, like `lsscsi -g`, so an admin can find the
/// `Control Device` (sg node) of an `Archive Device` (tape node). Needs no DEVICE. `--json` also groups
/// the devices by logical unit with each path's I_T nexus: which node goes through which initiator port,
/// the registrations `query` shows. Sends no SCSI command: sysfs holds what the kernel read.
enum ScanVerb: DevicelessCommand {
    static let name = "scan"
    static let summary = "list SCSI generic devices like lsscsi -g (no DEVICE)"
    static let ownOptions: [Invocation.Option] = []

    static func run<Out: TextOutputStream>(_ invocation: Invocation, environment: StorageCtlMain.Environment,
                                           stdout: inout Out, stderrLine: @escaping (String) -> Void) throws(StorageCtlError) -> ExitCode {
        if invocation.positionals.count > 1 { throw .usage("scan takes no arguments") }
        _ = try SettingsLoader.load(invocation, environment: environment.variable, warn: stderrLine)
        return try run(json: invocation.json, stdout: &stdout)
    }

    static func run(json: Bool, sysfsRoot: String = "/sys", devDirectory: String = "/dev",
                    stdout: inout some TextOutputStream) throws(StorageCtlError) -> ExitCode {
        let rows: [SCSIScanRow]
        do {
            rows = try SCSIScan.scan(sysfsRoot: sysfsRoot, devDirectory: devDirectory)
        } catch {
            throw StorageCtlError(.device, "scan: \(error.message)")
        }
        if json {
            // Only --json reads the VPD pages and transport classes: the listing stays what lsscsi prints.
            let document = document(rows: rows, paths: SCSIPaths.all(sysfsRoot: sysfsRoot),
                                    host: LocalPorts.hostPorts(sysfsRoot: sysfsRoot))
            stdout.write(document.serialized() + "\n")
        } else {
            stdout.write(SCSIScan.formatLikeLsscsi(rows))
        }
        return .ok
    }

    /// `devices`: the listing's rows. `logical_units`: the same devices grouped by LU identity (VPD 83h, else
    /// 80h), each path with its I_T nexus as the LU's READ FULL STATUS would name it (initiator port as in
    /// query's `transport_id`, relative target port), `notes` saying what is unknown and why; a device of
    /// unknown identity is an LU of its own. `host`: this host's initiator ports and iSCSI names.
    static func document(rows: [SCSIScanRow], paths: [SCSIPath], host: InitiatorPorts) -> JSON {
        let devices: [JSON] = rows.map { row in
            .object([
                ("hctl", .string(row.address.description)),
                ("type", .string(row.typeName)),
                ("vendor", .string(row.vendor)),
                ("product", .string(row.model)),
                ("revision", .string(row.revision)),
                ("sg", .optional(row.genericNode)),
                ("node", .optional(row.deviceNode)),
                ("no_rewind_node", .optional(row.noRewindNode)),
            ])
        }
        var rowAt: [SCSIAddress: SCSIScanRow] = [:]
        for row in rows { rowAt[row.address] = row }
        let units: [JSON] = SCSIPaths.groupedByLogicalUnit(paths).map { unit in
            .object([
                ("identity", .optional(unit.identity?.text)),
                ("paths", .array(unit.paths.map { path in
                    let row = rowAt[path.address]
                    return .object([
                        ("hctl", .string(path.address.description)),
                        ("state", .optional(path.state)),
                        ("sg", .optional(row?.genericNode)),
                        ("node", .optional(row?.deviceNode)),
                        ("no_rewind_node", .optional(row?.noRewindNode)),
                        ("initiator_port", path.initiatorPort.map(QueryJSON.transportID) ?? .null),
                        ("relative_target_port", path.relativeTargetPortIdentifier.map { .int(Int64($0)) } ?? .null),
                        ("notes", .array(path.notes.map { .string($0) })),
                    ])
                })),
            ])
        }
        return .object([
            ("devices", .array(devices)),
            ("logical_units", .array(units)),
            ("host", .object([
                ("initiator_ports", .array(host.ports.map(QueryJSON.transportID))),
                ("iscsi_names", .array(host.iscsiNames.map { .string($0) })),
                ("notes", .array(host.notes.map { .string($0) })),
            ])),
        ])
    }
}
