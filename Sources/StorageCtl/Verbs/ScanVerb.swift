import Transports

/// `scan`: the SCSI devices sysfs knows, like `lsscsi -g`, so an admin can find the
/// `Control Device` (sg node) of an `Archive Device` (tape node). Needs no DEVICE.
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

    static func run(json: Bool, stdout: inout some TextOutputStream) throws(StorageCtlError) -> ExitCode {
        let rows: [SCSIScanRow]
        do {
            rows = try SCSIScan.scan()
        } catch {
            throw StorageCtlError(.device, "scan: \(error.message)")
        }
        if json {
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
            stdout.write(JSON.object([("devices", .array(devices))]).serialized() + "\n")
        } else {
            stdout.write(SCSIScan.formatLikeLsscsi(rows))
        }
        return .ok
    }
}
