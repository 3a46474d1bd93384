// swift-tools-version:6.0
// storage-ctl: SCSI-3 persistent-reservation lock helper for shared tape drives.
// Layers, one direction of dependency (A <- B: B uses A):
//   PRCore (pure codecs + engine) <- Transports (sim LU, SG_IO, block PR ioctls) <- StorageCtl (commands, policy) <- storage-ctl (main)
//                                                               <- SgPersist (sg_persist 1.46)   <-
//   PRCore <- SgText (sg3_utils texts, sg_persist's PR IN layouts) <- StorageCtl, SgPersist
//   ProcessSupport (the system-call layer: Errno, FileDescriptor, EINTR retried in one place; process start, output
//   streams) <- Transports, SgText, StorageCtl, SgPersist, BaculaConfig
//   ProcessSupport <- BaculaConfig (bacula-sd.conf's grammar; its files read through FileDescriptor) <- StorageCtl (drives, check)
import PackageDescription

let package = Package(
    name: "storage-ctl",
    products: [
        .executable(name: "storage-ctl", targets: ["storage-ctl"]),
    ],
    targets: [
        .target(name: "PRCore"),
        .target(name: "CSGIO"),
        .target(name: "Transports", dependencies: ["PRCore", "CSGIO", "ProcessSupport"]),
        // fstatfs(2), whose header the Glibc module does not export
        .target(name: "CProcessSupport"),
        .target(name: "ProcessSupport", dependencies: ["CProcessSupport"]),
        // sg3_utils' texts (sg_lib's sense, status and exit texts) and sg_persist's PR IN layouts, which
        // storage-ctl's query and caps print too
        .target(name: "SgText", dependencies: ["PRCore", "ProcessSupport"]),
        .target(name: "StorageCtl", dependencies: ["PRCore", "Transports", "ProcessSupport", "SgText", "BaculaConfig"]),
        // sg_persist 1.46, byte for byte: the binary invoked as `sg_persist`, or `storage-ctl persist ...`
        .target(name: "SgPersist", dependencies: ["PRCore", "Transports", "ProcessSupport", "SgText"]),
        // a constructor that blocks the terminating signals before the Swift runtime starts (the executable only:
        // a test bundle must not run with them blocked)
        .target(name: "CEarlySignals"),
        .executableTarget(name: "storage-ctl", dependencies: ["StorageCtl", "SgPersist", "CEarlySignals"]),
        // bacula-sd.conf reader (Bacula's config grammar); no dependency. baculaconfig-check runs it for
        // scripts/bacula-referee.
        .target(name: "BaculaConfig", dependencies: ["ProcessSupport"]),
        .executableTarget(name: "baculaconfig-check", dependencies: ["BaculaConfig"]),
        .testTarget(name: "PRCoreTests", dependencies: ["PRCore"]),
        .testTarget(name: "TransportsTests", dependencies: ["Transports", "PRCore", "ProcessSupport"]),
        .testTarget(name: "StorageCtlTests", dependencies: ["StorageCtl", "Transports", "PRCore", "ProcessSupport"]),
        .testTarget(name: "SgPersistTests", dependencies: ["SgPersist", "SgText", "Transports", "PRCore", "ProcessSupport"]),
        .testTarget(name: "CLITests", dependencies: ["PRCore", "Transports"]),
        .testTarget(name: "BaculaConfigTests", dependencies: ["BaculaConfig"]),
    ]
)
