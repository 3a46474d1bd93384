import Foundation
import Testing

/// Runs the built `storage-ctl` as a separate process, as Bacula does.
///
/// The binary is found beside the test bundle (`swift test` builds it into the same folder),
/// or at `$STORAGE_CTL_BIN`.
enum CLI {
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["STORAGE_CTL_BIN"] { return path }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // .../debug/storage-ctlPackageTests.xctest is a file on Linux; the product sits beside it
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.appendingPathComponent("storage-ctl").path
    }()

    struct Result: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
        var description: String { "exit \(status)\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)" }
    }

    /// `text` with the poll counts of `lock`'s last line ("at all 7 polls", "in 12 polls") written as N: how
    /// often a waiting lock polls depends on its jittered backoff, the rest of the line does not.
    static func pollCountsMasked(_ text: String) -> String {
        text.replacing(/\ (at all|in) \d+ polls/) { " \($0.output.1) N polls" }
    }

    /// Lock records (fairness) of the test processes: never the host's /run/storage-ctl.
    static let runDirectory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-ctl-run-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return dir
    }()

    /// A clean environment: no configuration is picked up unless the test names one; lock records
    /// go to a directory of this test run (a Site has its own).
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env: [String: String] = ["PATH": "/usr/bin:/bin", "LANG": "C", "STORAGE_CTL_RUN_DIR": runDirectory]
        for (k, v) in extra { env[k] = v }
        return env
    }

    static func process(_ arguments: [String], env: [String: String] = [:], executable: String? = nil) -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable ?? binary)
        p.arguments = arguments
        p.environment = environment(env)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        return (p, out, err)
    }

    @discardableResult
    static func run(_ arguments: [String], env: [String: String] = [:], executable: String? = nil) throws -> Result {
        let (p, out, err) = process(arguments, env: env, executable: executable)
        let bg = Background(process: p, stdout: out, stderr: err)
        try p.run()
        bg.startReading()
        return bg.finish()
    }
}

/// A temporary directory with a simulated drive and one configuration file per host.
final class Site {
    let dir: URL
    let drive: String

    init(_ name: String = "site") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-ctl-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        drive = dir.appendingPathComponent("drive0").path
        // a simulated drive comes into being only when asked
        let created = try CLI.run([drive, "create"])
        guard created.status == 0, created.stderr.isEmpty else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: drive, NSLocalizedDescriptionKey: "\(created)"])
        }
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// This site's lock records (one host's memory of its drives; created 0700 by storage-ctl).
    var runDirectory: String { path("run") }

    /// Writes `<host>.conf` with our key and the names of both storage daemons.
    @discardableResult
    func host(_ host: String, key: String, extra: String = "") throws -> Host {
        let conf = path("\(host).conf")
        let text = """
        key=\(key)
        host_bac001=cibou
        host_bac999=dir
        initiator=iqn.2024-01.com.example:\(host)
        max_lock_wait=30
        lock_retry_max=0.2
        \(extra)
        """
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        return Host(site: self, name: host, conf: conf)
    }
}

/// One storage daemon: its configuration on the shared drive.
struct Host {
    let site: Site
    let name: String
    let conf: String

    @discardableResult
    func run(_ args: String..., env: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["-c", conf, site.drive] + args, env: ["STORAGE_CTL_RUN_DIR": site.runDirectory].merging(env) { $1 })
    }

    func start(_ args: String...) throws -> Background {
        let (p, out, err) = CLI.process(["-c", conf, site.drive] + args, env: ["STORAGE_CTL_RUN_DIR": site.runDirectory])
        let bg = Background(process: p, stdout: out, stderr: err)
        try p.run()
        bg.startReading()
        return bg
    }
}

/// A storage-ctl running in the background whose stderr can be awaited line by line.
final class Background: @unchecked Sendable {
    let process: Process
    let stdout: Pipe
    let stderr: Pipe
    private let lock = NSLock()
    private var errText = ""
    private var outText = ""
    private let errDone = DispatchSemaphore(value: 0)
    private let outDone = DispatchSemaphore(value: 0)

    init(process: Process, stdout: Pipe, stderr: Pipe) {
        self.process = process
        self.stdout = stdout
        self.stderr = stderr
    }

    func startReading() {
        let errHandle = stderr.fileHandleForReading
        let outHandle = stdout.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = errHandle.availableData
                if chunk.isEmpty { break }
                lock.lock(); errText += String(decoding: chunk, as: UTF8.self); lock.unlock()
            }
            errDone.signal()
        }
        Thread.detachNewThread { [self] in
            let data = outHandle.readDataToEndOfFile()
            lock.lock(); outText = String(decoding: data, as: UTF8.self); lock.unlock()
            outDone.signal()
        }
    }

    var stderrSoFar: String { lock.lock(); defer { lock.unlock() }; return errText }

    /// Waits (polling the captured stderr, bounded) until `text` appears; the condition, not a sleep.
    func waitForStderr(containing text: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderrSoFar.contains(text) { return true }
            if !process.isRunning && stderrSoFar.contains(text) == false {
                _ = errDone.wait(timeout: .now() + 1)
                return stderrSoFar.contains(text)
            }
            usleep(2000)
        }
        return false
    }

    func finish(timeout: Double = 60) -> CLI.Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(2000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        _ = errDone.wait(timeout: .now() + 5)
        _ = outDone.wait(timeout: .now() + 5)
        lock.lock(); defer { lock.unlock() }
        return CLI.Result(status: process.terminationStatus, stdout: outText, stderr: errText)
    }
}

extension CLI.Result {
    /// Every failure prints exactly one line on stderr, prefixed `storage-ctl: `.
    func expectOneErrorLine(_ status: Int32, contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(self.status == status, "\(self)", sourceLocation: sourceLocation)
        #expect(stderrLines.count == 1, "\(self)", sourceLocation: sourceLocation)
        #expect(stderr.hasPrefix("storage-ctl: "), "\(self)", sourceLocation: sourceLocation)
        #expect(stderr.contains(text), "expected «\(text)» in: \(self)", sourceLocation: sourceLocation)
    }
}
