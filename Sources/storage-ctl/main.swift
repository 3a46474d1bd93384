#if canImport(Glibc)
import Glibc
#endif
import SgPersist
import StorageCtl

// One binary, two personalities: invoked as `sg_persist` (argv[0]'s basename) or as `storage-ctl persist ...`,
// it is sg_persist 1.46 (SgPersist); otherwise storage-ctl (StorageCtl). main only picks one, hands over the
// arguments and exits with the status it returns.
let argv = CommandLine.arguments
let programName = argv.first ?? ""
if PersistCommand.isInvokedAsSgPersist(programName) {
    exit(PersistCommand.runProcess(arguments: Array(argv.dropFirst()), programName: programName))
}
if argv.count > 1 && argv[1] == "persist" {
    exit(PersistCommand.runProcess(arguments: Array(argv.dropFirst(2)), programName: "sg_persist"))
}
exit(StorageCtlMain.run(argv))
