// Fuzz target: the configuration file. The bytes of a storage-ctl.conf through what SettingsLoader does with
// them (UTF-8 check, ConfigFile.parse, Settings.apply), then what a command makes of the settings (key labels,
// the lock policy's backoff delays).
//
// Input: the file's bytes.
@testable import PRCore
@testable import StorageCtl
import Transports

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzInput(data, size).bytes
    // SettingsLoader refuses invalid UTF-8 before parsing; the parser itself must survive any String too.
    if let text = String(validating: bytes, as: UTF8.self) {
        check(text)
    } else {
        _ = try? ConfigFile.parse(String(decoding: bytes, as: UTF8.self), path: "/fuzz/storage-ctl.conf")
    }
    return 0
}

private func check(_ text: String) {
    let file: ConfigFile
    do {
        file = try ConfigFile.parse(text, path: "/fuzz/storage-ctl.conf")
    } catch {
        let lines = text.utf8.filter { $0 == 0x0A }.count + 1
        fuzzCheck(error.line >= 1 && error.line <= lines, "malformed line \(error.line) of \(lines)")
        fuzzCheck(!error.reason.isEmpty, "malformed line without a reason")
        return
    }
    var previous = 0
    for entry in file.entries {
        fuzzCheck(entry.line > previous, "entries out of order")
        previous = entry.line
        // A shell assignment ends at the end of its line: no value holds a line feed (CRLF files included).
        fuzzCheck(!entry.value.unicodeScalars.contains("\n"), "value of '\(entry.name)' (line \(entry.line)) spans lines")
        fuzzCheck(!entry.name.isEmpty && entry.name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) },
                  "bad setting name '\(entry.name)'")
    }
    // Writing every entry back in double quotes and parsing again gives the same entries.
    let rewritten = file.entries.map { entry -> String in
        var value = ""
        for scalar in entry.value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" || scalar == "$" || scalar == "`" { value += "\\" }
            value.unicodeScalars.append(scalar)
        }
        return "\(entry.name)=\"\(value)\""
    }
    do {
        let again = try ConfigFile.parse(rewritten.joined(separator: "\n"), path: file.path)
        fuzzCheck(again.entries.map(\.name) == file.entries.map(\.name) && again.entries.map(\.value) == file.entries.map(\.value),
                  "quoted rewrite parses differently")
    } catch {
        fuzzCheck(false, "quoted rewrite does not parse: \(error.reason) (line \(error.line))")
    }

    var settings = Settings()
    let warnings: [String]
    do {
        warnings = try settings.apply(file)
    } catch {
        fuzzCheck(error.message.hasPrefix(file.path + ":"), "error without file:line")
        fuzzCheck(!error.message.utf8.contains(0x0A), "error message spans lines")
        return
    }
    fuzzCheck(warnings.count <= file.entries.count, "more warnings than entries")
    if let initiator = settings.initiator {
        fuzzCheck(SimulatedLU.initiatorNameProblem(initiator) == nil, "initiator= accepted a name the simulated LU refuses")
    }
    for warning in warnings { fuzzCheck(!warning.utf8.contains(0x0A), "warning spans lines") }
    if let key = settings.key { fuzzCheck(!key.isZero, "key zero accepted") }
    for (key, name) in settings.hostNames {
        fuzzCheck(!key.isZero && !name.isEmpty, "host name entry")
        let label = settings.label(key)
        fuzzCheck(!label.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }), "key label with a control character")
    }
    fuzzCheck(settings.maxLockWait.isFinite && settings.maxLockWait >= 0, "max_lock_wait \(settings.maxLockWait)")
    fuzzCheck(settings.commandTimeout.isFinite && settings.commandTimeout > 0, "command_timeout \(settings.commandTimeout)")
    fuzzCheck(settings.lockRetryInitial > 0 && settings.lockRetryMax > 0, "lock retry delays")

    // What `lock` builds from the settings (LockVerbs): the backoff must never spin (a zero delay) and never trap.
    let policy = LockPolicy(initialDelay: Duration(seconds: settings.lockRetryInitial),
                            maxDelay: Duration(seconds: settings.lockRetryMax),
                            maxWait: Duration(seconds: settings.maxLockWait))
    var random = SplitMix64(seed: UInt64(truncatingIfNeeded: text.utf8.count))
    for retry in [0, 1, 2, 10, 31, 64, Int.max] {
        let delay = policy.delay(forRetry: retry, using: &random)
        fuzzCheck(delay > .zero, "lock_retry_initial=\(settings.lockRetryInitial) lock_retry_max=\(settings.lockRetryMax): retry \(retry) waits \(delay) (the waiter spins)")
        fuzzCheck(delay <= policy.maxDelay, "retry \(retry) waits \(delay), more than the cap \(policy.maxDelay)")
    }
    // SCSIReservationDevice turns the command timeout into a Duration the same way.
    _ = SCSIReservationDevice(transport: NoDevice(), path: "/fuzz", commandTimeout: settings.commandTimeout, tracer: nil,
                              typeField: settings.type)
    fuzzCheck(SCSIReservationDevice.commandTimeout(seconds: settings.commandTimeout) >= .milliseconds(1),
              "command_timeout=\(settings.commandTimeout) became a zero timeout")

    // Every value echoed in a message is one line, capped (OutputText, the one escaping function).
    for entry in file.entries {
        for shown in [OutputText.argument(entry.value), OutputText.escaped(entry.value)] {
            fuzzCheck(!shown.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                      "escaped value holds a control character")
        }
        fuzzCheck(OutputText.argument(entry.value).unicodeScalars.count <= OutputText.echoLimit + 32, "echo not capped")
    }
    let raw = Array(text.utf8)
    let escapedBytes = OutputText.escaped(bytes: raw)
    fuzzCheck(!escapedBytes.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
              "escaped bytes hold a control character")
    fuzzCheck(OutputText.oneLine(text).utf8.allSatisfy { $0 != 0x0A && $0 != 0x0D }, "oneLine left a line break")
}

private final class NoDevice: SCSITransport {
    let path = "/fuzz"
    func execute(cdb: [UInt8], dataOut: [UInt8], dataInLength: Int, timeout: Duration) throws(TransportError) -> SCSICommandResult {
        throw TransportError(.other, "no device")
    }
}


