// baculaconfig-check [--summary] FILE [DIRECTORY]: reads a bacula-sd.conf with the BaculaConfig reader, for
// scripts/bacula-referee. Prints the resources and drives and exits 0, or prints the error line on stderr
// and exits 1 (2 for a usage error). Relative include paths resolve against DIRECTORY (default: the
// working directory), as bacula-sd resolves them against its own. --summary prints only what bacula-sd's
// `-t -d 900` resource dump also shows, in the referee's form: `device NAME media=MEDIA archive=DEVICE` and
// `changer NAME: DEVICE...`.
import BaculaConfig

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

var arguments = CommandLine.arguments
let summary = arguments.count > 1 && arguments[1] == "--summary"
if summary { arguments.remove(at: 1) }
guard arguments.count == 2 || arguments.count == 3 else {
    printError("usage: baculaconfig-check [--summary] FILE [DIRECTORY]")
    exit(2)
}
do {
    let resources = try BaculaConfig.parse(path: arguments[1], directory: arguments.count == 3 ? arguments[2] : nil)
    let drives = try BaculaConfig.drives(in: resources)
    if summary {
        for device in resources where device.type == "Device" {
            print("device \(device.name) media=\(device.directive(named: "Media Type")?.value ?? "") archive=\(device.directive(named: "Archive Device")?.value ?? "")")
        }
        for changer in resources where changer.type == "Autochanger" {
            print("changer \(changer.name): \(changer.directives(named: "Device").flatMap(\.values).joined(separator: " "))")
        }
        exit(0)
    }
    for resource in resources {
        print("\(resource.type) \"\(resource.name)\" \(resource.file):\(resource.line)")
        for directive in resource.directives {
            print("  \(directive.key) = \(directive.values.map { "\"\($0)\"" }.joined(separator: ", ")) \(directive.file):\(directive.line)")
        }
    }
    for drive in drives {
        let source: String
        switch drive.lockCommandSource {
        case .device: source = "device"
        case .autochanger(let name): source = "autochanger \(name)"
        case .none: source = "none"
        }
        print("drive \(drive.name) archive=\(drive.archiveDevice ?? "-") control=\(drive.controlDevice) lock=\(drive.lockCommand ?? "-") (\(source)) changer=\(drive.autochanger ?? "-")")
    }
} catch {
    printError("\(error)")
    exit(1)
}
