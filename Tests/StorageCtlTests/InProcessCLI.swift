import Transports
@testable import StorageCtl

/// Runs the storage-ctl CLI in this process against a transport of the test's own (a scripted or
/// logging LU): no environment, no sleeping. Returns the exit status, stdout and the stderr lines.
func runInProcess(_ args: [String], transport: any SCSITransport) -> (Int32, String, [String]) {
    var out = ""
    var err: [String] = []
    let env = StorageCtlMain.Environment(variable: { _ in nil },
                                         openDevice: { (_, _) throws(TransportError) in transport },
                                         sleeper: { { _ in nil } })
    let code = StorageCtlMain.run(args, environment: env, stdout: &out, stderrLine: { err.append($0) })
    return (code, out, err)
}
