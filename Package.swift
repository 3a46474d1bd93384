// swift-tools-version:6.0
// storage-ctl: SCSI-3 persistent-reservation lock helper for shared tape drives.
// Layers, one direction of dependency:
//   PRCore (pure codecs + engine) <- Transports (sim LU, SG_IO) <- StorageCtl (commands, policy) <- storage-ctl (main)
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
        .target(name: "StorageCtl", dependencies: ["PRCore", "Transports"]),
        .executableTarget(name: "storage-ctl", dependencies: ["StorageCtl"]),
        // bacula-sd.conf reader (Bacula's config grammar); no dependency. baculaconfig-check runs it for
        // scripts/bacula-referee.
        .target(name: "BaculaConfig"),
        .executableTarget(name: "baculaconfig-check", dependencies: ["BaculaConfig"]),
        .testTarget(name: "PRCoreTests", dependencies: ["PRCore"]),
        .testTarget(name: "TransportsTests", dependencies: ["Transports", "PRCore"]),
        .testTarget(name: "StorageCtlTests", dependencies: ["StorageCtl", "Transports", "PRCore"]),
        .testTarget(name: "CLITests", dependencies: ["PRCore", "Transports"]),
        .testTarget(name: "BaculaConfigTests", dependencies: ["BaculaConfig"]),
    ]
)
