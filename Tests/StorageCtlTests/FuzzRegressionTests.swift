import Testing
@testable import StorageCtl
import PRCore

/// Inputs the fuzz targets (fuzz/) found crashing or breaking an invariant, replayed as ordinary tests.
/// Each input is also kept in fuzz/corpus/<target>/ so the fuzzers start from it.
@Suite("Fuzz regressions (StorageCtl)")
struct FuzzRegressionTests {
    /// fuzz/corpus/config/crash-crlf-lines: the parser split the text on the Character "\n", and in Swift
    /// "\r\n" is a single Character, so a file with CRLF line ends was one long line: its first value took in
    /// every following line (`key` became "bac001\r\nmax_lock_wait=60...").
    @Test("config: CRLF line ends end lines")
    func configCRLF() throws {
        let fuzzed = try ConfigFile.parse("_=\n\n_=J\r\n_=J\n_=", path: "fuzz.conf")
        #expect(fuzzed.entries.map(\.value) == ["", "J", "J", ""])
        #expect(fuzzed.entries.map(\.line) == [1, 3, 4, 5])

        let file = try ConfigFile.parse("# storage-ctl.conf\r\nkey=bac001\r\nmax_lock_wait=60\r\n", path: "crlf.conf")
        #expect(file.entries.map(\.name) == ["key", "max_lock_wait"])
        #expect(file.entries.map(\.value) == ["bac001", "60"])
        #expect(file.entries.map(\.line) == [2, 3])
        var settings = Settings()
        _ = try settings.apply(file)
        #expect(settings.key == ReservationKey(0xBAC001))
        #expect(settings.maxLockWait == 60)
    }
}
