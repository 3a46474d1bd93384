// swift-tools-version:6.0
// storage-ctl: SCSI-3 persistent-reservation lock helper for shared tape drives.
// Layers, one direction of dependency:
//   PRCore (pure codecs + engine) <- Transports (sim LU, SG_IO) <- StorageCtl (commands, policy) <- storage-ctl (main)
//                                                               <- SgPersist (sg_persist 1.46)   <-
//   ProcessSupport (process start, output streams, the few system calls of the command layers) <- StorageCtl, SgPersist
import PackageDescription

let package = Package(
    name: "storage-ctl",
    products: [
        .executable(name: "storage-ctl", targets: ["storage-ctl"]),
    ],
    targets: [
        .target(name: "PRCore"),
        .target(name: "CSGIO"),
        .target(name: "Transports", dependencies: ["PRCore", "CSGIO"]),
        .target(name: "ProcessSupport"),
        .target(name: "StorageCtl", dependencies: ["PRCore", "Transports", "ProcessSupport", "SgPersist"]),
        // sg_persist 1.46, byte for byte: the binary invoked as `sg_persist`, or `storage-ctl persist ...`
        .target(name: "SgPersist", dependencies: ["PRCore", "Transports", "ProcessSupport"]),
        .executableTarget(name: "storage-ctl", dependencies: ["StorageCtl", "SgPersist"]),
        // bacula-sd.conf reader (Bacula's config grammar); no dependency. baculaconfig-check runs it for
        // scripts/bacula-referee.
        .target(name: "BaculaConfig"),
        .executableTarget(name: "baculaconfig-check", dependencies: ["BaculaConfig"]),
        .testTarget(name: "PRCoreTests", dependencies: ["PRCore"]),
        .testTarget(name: "TransportsTests", dependencies: ["Transports", "PRCore"]),
        .testTarget(name: "StorageCtlTests", dependencies: ["StorageCtl", "Transports", "PRCore", "ProcessSupport"]),
        .testTarget(name: "SgPersistTests", dependencies: ["SgPersist", "Transports", "PRCore"]),
        .testTarget(name: "CLITests", dependencies: ["PRCore", "Transports"]),
        .testTarget(name: "BaculaConfigTests", dependencies: ["BaculaConfig"]),
    ]
)
