// Fuzz target: bacula-sd.conf as `storage-ctl drives` and `check` read it (BaculaConfig.parse, then
// BaculaConfig.drives). The input is the main file; the same bytes are also /fuzz/inc.conf, so an input
// that says `@/fuzz/inc.conf` or `@inc.conf` includes itself (loops, nesting, the depth limit).
//
// Input: the file's bytes.
import BaculaConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBaculaSdConf(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput(data, size).bytes
    var files = InMemoryConfigFiles([:])
    files.files["/fuzz/bacula-sd.conf"] = bytes
    files.files["/fuzz/inc.conf"] = bytes
    let resources: [Resource]
    do {
        resources = try BaculaConfig.parse(path: "bacula-sd.conf", reader: files, directory: "/fuzz")
    } catch {
        // Every refusal names a place: one of the two files (as named), a line within it, a reason.
        fuzzCheck(!error.message.isEmpty, "refusal without a reason")
        fuzzCheck(error.line >= 0 && error.line <= bytes.filter { $0 == 0x0A }.count + 1,
                  "refusal at line \(error.line) of a \(bytes.count)-byte file")
        // (The message may quote the file's own text, line feeds included: the command line escapes it
        // with OutputText when it prints it, one line.)
        return 0
    }
    for resource in resources {
        fuzzCheck(resource.line >= 1, "resource \(resource.type) without a line")
    }
    // The drives of what parsed: refused or listed, never a crash; each drive's Control Device is a value
    // of its own Device resource.
    if let drives = try? BaculaConfig.drives(in: resources) {
        for drive in drives {
            fuzzCheck(resources.contains { $0.type == "Device" && $0.name == drive.name }, "drive \(drive.name) without its Device")
        }
    }
    return 0
}
