#if canImport(Glibc)
import Glibc
#endif
import CEarlySignals
import SgPersist
import StorageCtl

// One binary, two personalities: invoked as `sg_persist` (argv[0]'s basename) or as `storage-ctl persist ...`,
// it is sg_persist 1.46 (SgPersist); otherwise storage-ctl (StorageCtl). main only picks one, hands over the
// arguments and exits with the status it returns.
let argv = CommandLine.arguments
let programName = argv.first ?? ""
// The terminating signals are blocked since before the runtime started (CEarlySignals' constructor); the
// storage-ctl personality keeps them so (ProcessSignals), the sg_persist personality gets sg_persist's defaults back.
if PersistCommand.isInvokedAsSgPersist(programName) {
    storage_ctl_early_signals_release()
    exit(PersistCommand.runProcess(arguments: Array(argv.dropFirst()), programName: programName))
}
switch StorageCtlMain.persistCall(Array(argv.dropFirst())) {
case .run(let arguments, let initiator):
    storage_ctl_early_signals_release()
    exit(PersistCommand.runProcess(arguments: arguments, programName: "sg_persist", initiator: initiator))
case .refused(let line, let status):
    let bytes = Array((line + "\n").utf8)
    _ = write(2, bytes, bytes.count)
    exit(status)
case nil:
    break
}
exit(StorageCtlMain.run(argv))
