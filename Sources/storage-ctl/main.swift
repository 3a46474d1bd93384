#if canImport(Glibc)
import Glibc
#endif
import StorageCtl

// Everything happens in StorageCtl; main only hands over argv and exits with the status.
exit(StorageCtlMain.run(CommandLine.arguments))
